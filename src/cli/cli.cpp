#include "cli/cli.hpp"

#include "cli/check_cmd.hpp"
#include "cli/render_cmd.hpp"
#include "cli/secrets_cmd.hpp"
#include "cli/status_cmd.hpp"

#include "apply/state_check.hpp"
#include "apply/store.hpp"
#include "config/config.hpp"
#include "daemon/control.hpp"
#include "daemon/isolated.hpp"
#include "daemon/reconciler.hpp"
#include "manifest/render.hpp"
#include "manifest/validate.hpp"
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
    "  status [--json]          source, commit (age, subject), generation, last sync and error,\n"
    "                           next poll, paused or not, drift, prerequisites\n"
    "  sync [--dry-run] [--accept-rewrite] [--allow-deletions N] [--retry]\n"
    "                           reconcile now and print what happened (at a terminal,\n"
    "                           progress while it applies and checks)\n"
    "  diff                     the plan for the newest commit, applied to nothing\n"
    "  history [--json]         generations: number, commit, time, changes (files added,\n"
    "                           changed, removed; units restarted), outcome\n"
    "  rollback [GEN]           back to the previous (or a given) good generation, then pinned\n"
    "  suspend | resume         stop / restart applying (polling and status go on)\n"
    "  repair [--yes]           what is damaged in the state directory that fjord cannot\n"
    "                           rebuild by itself, and what repair would do; --yes does it\n"
    "  validate DIR...          render every host folder found in DIR (DIR/hosts/*, DIR itself,\n"
    "                           or its host subfolders) offline; reports every error\n"
    "  render HOSTDIR [--host NAME] [--var NAME=VALUE]...\n"
    "                           what one host would get, offline: its files, then each rendered\n"
    "                           template in full. Facts are this machine's; --host NAME renders\n"
    "                           as NAME (other host.* facts are placeholders); --var sets a var\n"
    "                           or a fact, over everything (VALUE is TOML when it parses: 8, [\"a\"])\n"
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

// A verb the daemon performs; when it is not running, `local` does it here (or says why not).
int via_daemon(const Config &cfg, const nlohmann::json &req, int timeout_ms, const std::function<int()> &local) {
    // At a terminal, sync shows what it is doing ("checking generation 5: checks 1/3 passing")
    // on one line that the final output replaces; piped, only the final output is printed.
    ProgressLine line;
    std::function<void(const std::string &)> on_progress;
    if (req.value("progress", false)) on_progress = [&line](const std::string &l) { line.show(l); };
    auto r = control_call(control_socket_path(cfg), req, timeout_ms, on_progress);
    line.clear();
    if (r) return print_sync(*r);
    if (r.error().code == Errc::not_found) return local();
    return failed(r.error().message);
}

// fjordctl repair without the daemon: the store's own check and repair, under its lock.
int run_repair(const Config &cfg, bool yes) {
    auto store = Store::open_existing(cfg.state.dir);
    if (!store) return failed(store.error().message);
    auto lock = store->lock();
    if (!lock) return failed(lock.error().message);
    if (!yes) {
        auto chk = check_state(*store);
        if (!chk) return failed(chk.error().message);
        for (const auto &line : chk->rebuilt) std::printf("rebuilt: %s\n", printable(line).c_str());
        if (chk->damage.empty()) {
            std::printf("nothing to repair: fjord rebuilds what is damaged by itself\n");
            return 0;
        }
        std::printf("damaged: %s\nrepair would: %s\nrun fjordctl repair --yes to do it\n", printable(chk->damage).c_str(),
                    printable(chk->repair).c_str());
        return 1;
    }
    auto done = repair_state(*store);
    if (!done) return failed("repair failed: " + done.error().message);
    for (const auto &line : *done) std::printf("%s\n", printable(line).c_str());
    std::printf("fjordd is not running; it recovers and applies at its next start\n");
    return 0;
}

int not_running(const std::string &verb) {
    return failed("fjordd is not running, and `" + verb + "` needs it (systemctl start fjord; `fjordd --once` does one sync without it)");
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
            static const std::vector<std::string> known{"--json", "--dry-run", "--accept-rewrite", "--allow-deletions", "--retry", "--fast", "--host", "--var", "--yes"};
            if (std::find(known.begin(), known.end(), w) == known.end()) return usage_error("unknown option " + w);
        }

    if (verb == "status") return run_status(*cfg, a.has("--json"));
    if (verb == "check") return run_check(*cfg, a.words);
    if (verb == "identity") return run_identity(*cfg, a.words);
    if (verb == "history") return run_history(*cfg, a.has("--json"));
    if (verb == "sync" || verb == "diff") {
        nlohmann::json req{{"cmd", verb}, {"dry_run", a.has("--dry-run")}, {"accept_rewrite", a.has("--accept-rewrite")},
                           {"retry", a.has("--retry")}, {"progress", verb == "sync" && ::isatty(STDOUT_FILENO)}};
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
    if (verb == "repair") {
        bool yes = a.has("--yes");
        return via_daemon(*cfg, {{"cmd", "repair"}, {"yes", yes}}, 3'600'000, [&] { return run_repair(*cfg, yes); });
    }
    if (verb == "validate") return run_validate(*cfg, a.words);
    if (verb == "render") return run_render(*cfg, a.words);
    return usage_error("unknown verb " + verb);
}

} // namespace fjord
