#include "cli/cli.hpp"

#include "cli/check_cmd.hpp"
#include "cli/secrets_cmd.hpp"

#include "apply/store.hpp"
#include "config/config.hpp"
#include "daemon/control.hpp"
#include "daemon/isolated.hpp"
#include "daemon/reconciler.hpp"
#include "manifest/render.hpp"
#include "source/tree.hpp"
#include "util/parse.hpp"
#include "util/host.hpp"
#include <algorithm>
#include <cstdio>
#include <functional>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

namespace fjord {
namespace {

constexpr const char *usage_text =
    "usage: fjordctl [--config FILE] VERB [ARGS]\n"
    "\n"
    "  status [--json]          current generation, commit, last sync, last error, next poll\n"
    "  sync [--dry-run] [--accept-rewrite] [--allow-deletions N] [--retry]\n"
    "                           reconcile now and print what happened\n"
    "  diff                     the plan for the newest commit, applied to nothing\n"
    "  history [--json]         generations: number, commit, time, outcome\n"
    "  rollback [GEN]           back to the previous (or a given) good generation, then pinned\n"
    "  suspend | resume         stop / restart applying (polling and status go on)\n"
    "  validate DIR...          lint host folders of a checkout of the repo, offline\n"
    "  render HOSTDIR           what one host would get (templates rendered), offline\n"
    "  check [--json] [--fast]  host prerequisites, pass/warn/fail each, measured here (no daemon needed)\n"
    "  identity [recipient|ssh] the age recipient and the SSH deploy key of this host\n"
    "  encrypt -r RECIPIENT [-a] age-format encryption of stdin for a host (-r again: more hosts)\n"
    "\n"
    "  --config FILE            agent configuration (default /etc/fjord/fjord.toml)\n"
    "Exit status: 0 success, 1 the operation failed, 2 usage or config error.\n";

int usage_error(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\n%s", msg.c_str(), usage_text);
    return 2;
}

int failed(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\n", msg.c_str());
    return 1;
}

std::string when(std::int64_t t) { return format_time(t); }

std::string short_id(const std::string &c) { return c.empty() ? "-" : c.substr(0, 12); }

struct Args {
    std::vector<std::string> words;
    bool has(const std::string &flag) const {
        for (const auto &w : words)
            if (w == flag) return true;
        return false;
    }
};

// Config for verbs that only need the state dir: a missing default config is fine (defaults).
Result<Config> config_for(const std::string &file, bool explicit_file) {
    HostFacts f{host_name(), machine_id()};
    if (!explicit_file && ::access(file.c_str(), F_OK) < 0) return parse_config("", file, f);
    return load_config(file, f);
}

int print_sync(const nlohmann::json &r) {
    std::string plan = r.value("plan", "");
    if (!plan.empty()) std::fputs(plan.c_str(), stdout);
    std::printf("%s\n", r.value("message", "").c_str());
    return r.value("ok", false) ? 0 : 1;
}

int cmd_status(const Config &cfg, const Args &a) {
    auto r = control_call(control_socket_path(cfg), {{"cmd", "status"}}, 10'000);
    nlohmann::json j;
    bool running = r.has_value();
    if (running) {
        j = *r;
    } else {
        auto s = read_status(cfg.state.dir);
        j = s ? nlohmann::json::parse(status_to_json(*s)) : nlohmann::json{{"generation", 0}};
        j["running"] = false;
    }
    add_prereq_status(cfg, j);
    if (a.has("--json")) {
        j.erase("ok");
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("fjordd:      %s\n", running ? "running" : "not running (systemctl start fjord)");
    std::printf("generation:  %llu (commit %s, %zu paths)\n", static_cast<unsigned long long>(j.value("generation", 0ull)),
                short_id(j.value("commit", "")).c_str(), j.value("managed", std::size_t{0}));
    std::printf("last sync:   %s (%s)\n", when(j.value("last_sync", std::int64_t{0})).c_str(), j.value("last_result", "-").c_str());
    if (running) std::printf("next poll:   %s\n", when(j.value("next_poll", std::int64_t{0})).c_str());
    std::printf("last drift:  %s (%zu drifted)\n", when(j.value("last_drift", std::int64_t{0})).c_str(), j.value("drifted", std::size_t{0}));
    if (!j.value("suspended", "").empty()) std::printf("applying:    paused: %s\n", j.value("suspended", "").c_str());
    if (!j.value("last_error", "").empty()) std::printf("last error:  %s\n", j.value("last_error", "").c_str());
    print_prereq_status(j);
    if (!j.value("note", "").empty()) std::printf("note:        %s\n", j.value("note", "").c_str());
    return 0;
}

int cmd_history(const Config &cfg, const Args &a) {
    auto store = Store::open_existing(cfg.state.dir);
    if (!store) return failed(store.error().message);
    auto hist = store->history();
    if (!hist) return failed(hist.error().message);
    auto cur = store->current();
    if (a.has("--json")) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto &g : *hist)
            arr.push_back({{"generation", g.number}, {"commit", g.commit}, {"time", g.time},
                           {"outcome", outcome_name(g.outcome)}, {"message", g.message},
                           {"current", cur && *cur == g.number}});
        std::printf("%s\n", arr.dump(2).c_str());
        return 0;
    }
    std::printf("%-5s %-12s %-19s %-12s %s\n", "GEN", "COMMIT", "TIME", "OUTCOME", "NOTE");
    for (const auto &g : *hist) {
        std::printf("%-5llu %-12s %-19s %-12s %s%s\n", static_cast<unsigned long long>(g.number), short_id(g.commit).c_str(),
                    when(g.time).c_str(), outcome_name(g.outcome), cur && *cur == g.number ? "(current) " : "",
                    g.message.c_str());
    }
    return 0;
}

// A verb the daemon performs; when it is not running, `local` does it here (or says why not).
int via_daemon(const Config &cfg, const nlohmann::json &req, int timeout_ms, const std::function<int()> &local) {
    auto r = control_call(control_socket_path(cfg), req, timeout_ms);
    if (r) return print_sync(*r);
    if (r.error().code == Errc::not_found) return local();
    return failed(r.error().message);
}

int not_running(const std::string &verb) {
    return failed("fjordd is not running, and `" + verb + "` needs it (systemctl start fjord; `fjordd --once` does one sync without it)");
}

int cmd_render(const Config &cfg, const std::string &dir, bool print) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(dir, ec);
    if (ec || !std::filesystem::is_directory(abs, ec)) return failed(dir + ": not a folder");
    // The repo root is the nearest folder above holding .git, so includes resolve as on the host.
    std::filesystem::path root = abs;
    while (!std::filesystem::exists(root / ".git", ec) && root.has_parent_path() && root != root.parent_path())
        root = root.parent_path();
    if (!std::filesystem::exists(root / ".git", ec)) root = abs;
    RenderOptions ro;
    ro.host_path = std::filesystem::relative(abs, root, ec).string();
    if (ro.host_path.empty()) ro.host_path = ".";
    ro.max_files = cfg.apply.max_files;
    ro.max_file_size = cfg.apply.max_file_size;
    ro.protect = cfg.apply.protect;
    ro.facts = {{"host.name", host_name()}, {"host.machine_id", machine_id()}, {"fjord.commit", ""}};
    std::string undecrypted = offline_secrets(cfg, ro); // on the host itself, secrets are checked too
    // The checkout is untrusted input, parsed in a sandboxed child as fjordd does.
    auto d = render_dir_isolated(root.string(), ro);
    if (!d) return failed(d.error().message);
    if (!print) {
        std::size_t secrets = 0;
        for (const auto &[p, s] : d->files) secrets += s.secret;
        std::printf("%s: ok (%zu files)%s\n", dir.c_str(), d->files.size(),
                    secrets && !undecrypted.empty() ? " (secrets not decrypted: no identity here)" : "");
        return 0;
    }
    for (const auto &[p, s] : d->files) {
        if (s.kind == FileKind::symlink) std::printf("l ---- %s:%s %s -> %s\n", s.owner.c_str(), s.group.c_str(), p.c_str(), s.target.c_str());
        else std::printf("f %04o %s:%s %s%s\n", s.mode, s.owner.c_str(), s.group.c_str(), p.c_str(), s.secret ? " (secret)" : "");
    }
    return 0;
}

} // namespace

int run_cli(int argc, char **argv) {
    std::string config_file = default_config_file;
    bool explicit_config = false;
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string w = argv[i];
        if (w == "--config" && i + 1 < argc) {
            config_file = argv[++i];
            explicit_config = true;
        } else if (w.rfind("--config=", 0) == 0) {
            config_file = w.substr(9);
            explicit_config = true;
        } else if (w == "--help" || w == "-h" || w == "help") {
            std::fputs(usage_text, stdout);
            return 0;
        } else {
            a.words.push_back(w);
        }
    }
    if (a.words.empty()) return usage_error("no verb given");
    std::string verb = a.words.front();
    a.words.erase(a.words.begin());

    if (verb == "encrypt") return run_encrypt(a.words); // needs no config: operators run it on their laptop
    auto cfg = config_for(config_file, explicit_config);
    if (!cfg) {
        std::fprintf(stderr, "fjordctl: %s\n", cfg.error().message.c_str());
        return 2;
    }
    for (const auto &w : a.words)
        if (w.rfind("--", 0) == 0) {
            static const std::vector<std::string> known{"--json", "--dry-run", "--accept-rewrite", "--allow-deletions", "--retry", "--fast"};
            if (std::find(known.begin(), known.end(), w) == known.end()) return usage_error("unknown option " + w);
        }

    if (verb == "status") return cmd_status(*cfg, a);
    if (verb == "check") return run_check(*cfg, a.words);
    if (verb == "identity") return run_identity(*cfg, a.words);
    if (verb == "history") return cmd_history(*cfg, a);
    if (verb == "sync" || verb == "diff") {
        nlohmann::json req{{"cmd", verb}, {"dry_run", a.has("--dry-run")}, {"accept_rewrite", a.has("--accept-rewrite")},
                           {"retry", a.has("--retry")}};
        for (std::size_t i = 0; i < a.words.size(); ++i)
            if (a.words[i] == "--allow-deletions") {
                if (i + 1 >= a.words.size()) return usage_error("--allow-deletions needs a number");
                try {
                    req["allow_deletions"] = static_cast<std::uint32_t>(std::stoul(a.words[i + 1]));
                } catch (...) {
                    return usage_error("--allow-deletions needs a number");
                }
            }
        return via_daemon(*cfg, req, 3'600'000, [&] { return not_running(verb); });
    }
    if (verb == "rollback") {
        std::uint64_t gen = 0;
        if (!a.words.empty()) {
            try {
                gen = std::stoull(a.words[0]);
            } catch (...) {
                return usage_error("rollback takes a generation number");
            }
        }
        return via_daemon(*cfg, {{"cmd", "rollback"}, {"generation", gen}}, 3'600'000, [&] {
            auto rec = Reconciler::open(*cfg);
            if (!rec) return failed(rec.error().message);
            auto r = (*rec)->rollback(gen);
            std::printf("%s\n", r.message.c_str());
            return r.state == SyncState::applied ? 0 : 1;
        });
    }
    if (verb == "suspend" || verb == "resume") {
        return via_daemon(*cfg, {{"cmd", verb}}, 10'000, [&] {
            auto store = Store::open(cfg->state.dir);
            if (!store) return failed(store.error().message);
            Status s = verb == "suspend" ? store->set_flag("suspended", "1") : store->clear_flag("suspended");
            if (s && verb == "resume") s = store->clear_flag("pinned");
            if (s && verb == "resume") s = store->clear_flag("halted");
            if (s && verb == "resume") s = store->clear_flag("attempts");
            if (!s) return failed(s.error().message);
            std::printf("%s (fjordd is not running; it will see this when it starts)\n", verb == "suspend" ? "suspended" : "resumed");
            return 0;
        });
    }
    if (verb == "validate") {
        if (a.words.empty()) return usage_error("validate needs at least one folder");
        int rc = 0;
        for (const auto &d : a.words) rc = std::max(rc, cmd_render(*cfg, d, false));
        return rc;
    }
    if (verb == "render") {
        if (a.words.size() != 1) return usage_error("render needs one host folder");
        return cmd_render(*cfg, a.words[0], true);
    }
    return usage_error("unknown verb " + verb);
}

} // namespace fjord
