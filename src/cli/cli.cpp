#include "cli/cli.hpp"

#include "cli/args.hpp"
#include "cli/check_cmd.hpp"
#include "cli/completion.hpp"
#include "cli/diff_cmd.hpp"
#include "cli/events_cmd.hpp"
#include "cli/fleet_cmd.hpp"
#include "cli/offline_cmd.hpp"
#include "cli/render_cmd.hpp"
#include "cli/secrets_cmd.hpp"
#include "cli/status_cmd.hpp"
#include "cli/tty.hpp"

#include "apply/store.hpp"
#include "config/config.hpp"
#include "config/own_paths.hpp"
#include "control/control.hpp"
#include "util/host.hpp"
#include "util/fs.hpp"
#include "util/parse.hpp"
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

namespace fjord {
namespace {

int failed(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\n", tty_lines(msg).c_str());
    return 1;
}

// Config for verbs that only need the state dir: a missing default config is fine (defaults).
Result<Config> config_for(const std::string &file, bool explicit_file, Diagnostics *problems) {
    HostFacts f{host_name(), machine_id()};
    if (!explicit_file && ::access(file.c_str(), F_OK) < 0) return parse_config("", file, f);
    return load_config(file, f, problems);
}

int print_sync(const nlohmann::json &r) {
    // The plan names the repo's files (describe() escapes them too); the message may quote a
    // command's output. Neither reaches the terminal with its control characters.
    std::string plan = r.value("plan", "");
    if (!plan.empty()) std::fputs(tty_lines(plan).c_str(), stdout);
    std::printf("%s\n", tty_lines(r.value("message", "")).c_str());
    if (r.value("refused", "") != "") return refused_preview;
    return r.value("ok", false) ? 0 : 1;
}

/// fjordctl diff: the changes with content (--stat: a line each), then the outcome. Exit: a
/// refused preview 3; --exit-code 0 no changes, 1 changes, 2 an error; else 0, or 1 on an error.
int print_diff(const nlohmann::json &r, bool stat, bool exit_code) {
    int error = exit_code ? 2 : 1;
    if (r.value("state", "") != "dry-run") {
        std::fprintf(stderr, "fjordctl: diff: %s\n", tty_lines(r.value("message", "no preview")).c_str());
        return error;
    }
    std::string text = r.value(stat ? "plan" : "diff", "");
    if (text.empty()) text = r.value("plan", "");
    if (!text.empty()) std::fputs(tty_lines(text).c_str(), stdout);
    std::printf("%s\n", tty_lines(r.value("message", "")).c_str());
    if (r.value("refused", "") != "") return refused_preview;
    bool changes = !r.value("plan", "").empty();
    return exit_code && changes ? 1 : 0;
}

// A verb the daemon performs; when it is not running, `local` does it here (or says why not).
int via_daemon(const Config &cfg, const nlohmann::json &req, int timeout_ms, const std::function<int()> &local,
               const std::function<int(const nlohmann::json &)> &print = print_sync, int error = 1) {
    // At a terminal, sync shows what it is doing ("checking generation 5: checks 1/3 passing")
    // on one line that the final output replaces; piped, only the final output is printed.
    ProgressLine line;
    std::function<void(const std::string &)> on_progress;
    if (req.value("progress", false)) on_progress = [&line](const std::string &l) { line.show(l); };
    auto r = control_call(control_socket_path(cfg), req, timeout_ms, on_progress);
    line.clear();
    if (r) return print(*r);
    if (r.error().code == Errc::not_found) return local();
    (void)failed(r.error().message);
    return error;
}

// --local DIR's value, as given ("--local DIR" or "--local=DIR").
std::string local_dir(const std::vector<std::string> &words) {
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "--local" && i + 1 < words.size()) return words[i + 1];
        if (words[i].starts_with("--local=")) return words[i].substr(8);
    }
    return "";
}

int not_running(const std::string &verb) {
    // `fjordd --once` applies: a preview's hint must not be a command that changes the host.
    std::string without = verb == "diff" ? "`fjordd --once --dry-run` shows the plan without it" : "`fjordd --once` does one sync without it";
    return failed("fjordd is not running, and `" + verb + "` needs it (systemctl start fjord; " + without + ")");
}

} // namespace

int run_cli(int argc, char **argv) {
    CliParse p = parse_cli(argc, argv);
    if (p.kind != CliParse::Kind::run) {
        std::fputs(p.text.c_str(), p.kind == CliParse::Kind::print ? stdout : stderr);
        return p.exit_code;
    }
    const CliArgs &a = p.args;
    const std::string &verb = a.verb;
    if (verb == "completion") {
        CliInfo info = cli_info();
        std::fputs((a.positional.front() == "bash" ? bash_completion(info) : zsh_completion(info)).c_str(), stdout);
        return 0;
    }
    bool explicit_config = !a.config_file.empty();
    std::string config_file = explicit_config ? a.config_file : default_config_file;

    if (verb == "encrypt") return run_encrypt(a.words); // needs no config: operators run it on their laptop
    // events (cli/events_cmd.cpp) needs no config either: it reads the journal.
    if (verb == "events") {
        auto since = std::find(a.words.begin(), a.words.end(), "--since");
        // The words come in one spelling (args.cpp): "--since=X" is "--since" "X" here.
        std::string when = since == a.words.end() || std::next(since) == a.words.end() ? "" : *std::next(since);
        return run_events(a.has("--follow"), when, a.has("--json"));
    }
    Diagnostics problems;
    auto cfg = config_for(config_file, explicit_config, &problems);
    // Every problem of the file, a line each (a warning for status).
    auto each_problem = [&](const Error &first, const char *prefix) {
        for (const auto &e : problems.empty() ? std::vector<Error>{first} : problems.errors())
            std::fprintf(stderr, "fjordctl: %s%s\n", prefix, tty_lines(e.message).c_str());
    };
    // status asks fjordd, which runs the last good config: a typo on disk is a warning, and the
    // daemon is asked at the default places (control socket, state dir).
    if (!cfg && verb == "status" && ::access(config_file.c_str(), F_OK) == 0) { // a file that is there but does not load
        Error why = cfg.error();
        cfg = parse_config("", config_file, HostFacts{host_name(), machine_id()});
        if (cfg)
            if (auto text = read_file(config_file, 1 << 20); text)
                if (auto dir = salvage_state_dir(*text); !dir.empty()) cfg->state.dir = dir;
        if (cfg) {
            each_problem(why, "warning: ");
            std::fprintf(stderr, "fjordctl: warning: the configuration does not load; fjordd keeps running the last good one "
                                 "(asking it at %s)\n",
                         tty(control_socket_path(*cfg)).c_str());
        }
    }
    if (!cfg) {
        each_problem(cfg.error(), "");
        return 2;
    }

    if (verb == "status") return run_status(*cfg, a.has("--json"));
    if (verb == "check") return run_check(*cfg, a.words);
    if (verb == "identity") return run_identity(*cfg, a.words);
    if (verb == "history") return run_history(*cfg, a.has("--json"));
    if (verb == "show") return run_show(*cfg, a.positional.empty() ? "" : a.positional.front(), a.has("--json"));
    if (verb == "sync" || verb == "diff") {
        nlohmann::json req{{"cmd", verb}, {"dry_run", a.has("--dry-run")}, {"accept_rewrite", a.has("--accept-rewrite")},
                           {"retry", a.has("--retry")}, {"skip_waves", a.has("--skip-waves")}, {"progress", verb == "sync" && ::isatty(STDOUT_FILENO)}};
        if (a.has("--allow-deletions")) req["allow_deletions"] = a.numbers.at("--allow-deletions");
        if (verb == "sync") return via_daemon(*cfg, req, 3'600'000, [&] { return not_running(verb); });
        bool stat = a.has("--stat"), exit_code = a.has("--exit-code");
        if (a.has("--local")) return run_diff_local(*cfg, local_dir(a.words), stat, exit_code);
        int error = exit_code ? 2 : 1;
        return via_daemon(
            *cfg, req, 3'600'000, [&] { return not_running(verb) == 0 ? 0 : error; },
            [&](const nlohmann::json &r) { return print_diff(r, stat, exit_code); }, error);
    }
    if (verb == "rollback") {
        std::uint64_t gen = a.positional.empty() ? 0 : a.numbers.at("GEN"); // 0: the previous good one
        // A generation that is not kept is said so plainly, before the daemon (or, when it is not
        // running, fjordd --rollback) is asked: "generation 7 is not kept (pruned); kept: 12-31".
        if (auto store = Store::open_existing(cfg->state.dir); gen != 0 && store) {
            auto kept = store->check_kept(gen);
            if (!kept && kept.error().code == Errc::not_found) return failed("rollback: " + kept.error().message);
        }
        // Without fjordd, fjordd --rollback does it: a rollback takes the whole engine.
        return via_daemon(*cfg, {{"cmd", "rollback"}, {"generation", gen}}, 3'600'000, [&] { return rollback_offline(*cfg, gen); });
    }
    if (verb == "suspend" || verb == "resume")
        return via_daemon(*cfg, {{"cmd", verb}}, 10'000, [&] { return suspend_offline(*cfg, verb == "suspend"); });
    if (verb == "repair") {
        bool yes = a.has("--yes");
        return via_daemon(*cfg, {{"cmd", "repair"}, {"yes", yes}}, 3'600'000, [&] { return repair_offline(*cfg, yes); });
    }
    if (verb == "fleet") {
        // The words come in one spelling (args.cpp): "--url=X" is "--url" "X" here.
        auto value = [&](const char *opt) {
            auto it = std::find(a.words.begin(), a.words.end(), opt);
            return it == a.words.end() || std::next(it) == a.words.end() ? std::string() : *std::next(it);
        };
        return run_fleet(*cfg, value("--url"), value("--commit"), a.has("--json"));
    }
    if (verb == "validate") return run_validate(*cfg, a.words);
    if (verb == "render") return run_render(*cfg, a.words);
    std::fprintf(stderr, "fjordctl: %s: no such verb\n", verb.c_str()); // the table and this list differ
    return 2;
}

} // namespace fjord
