#include "cli/cli.hpp"

#include "cli/check_cmd.hpp"
#include "cli/events_cmd.hpp"
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
    "  events [--follow] [--since TIME] [--json]\n"
    "                           fjord's journal events (applied, refused, rolled back, drift,\n"
    "                           image updates...), one line each; --follow waits for new ones;\n"
    "                           TIME: \"2026-12-04 10:00\", \"1h ago\", \"-30m\", \"@EPOCH\", \"today\"\n"
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
    std::fprintf(stderr, "fjordctl: %s\n%s", tty(msg).c_str(), usage_text);
    return 2;
}

int failed(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\n", tty_lines(msg).c_str());
    return 1;
}

/// A numeric argument: strictly decimal, within [min, max] (util/parse.hpp parse_uint).
struct NumberSpec {
    std::uint64_t min = 0, max = UINT64_MAX;
    const char *below_min = ""; ///< said after "less than MIN", why
};

/// An option of a verb; `value` names its value for messages ("N"), nullptr for a flag.
struct OptionSpec {
    const char *name;
    const char *value = nullptr;
    bool repeat = false;                 ///< may be given more than once (--var, -r)
    std::optional<NumberSpec> number = {}; ///< the value is a number
};

/// What one verb takes. Checked before anything is read or the daemon is asked, so a wrong
/// word never turns into an action (`rollback 0x3` rolled back to generation 0 = "previous").
struct VerbSpec {
    const char *name;
    const char *usage; ///< its ARGS as the usage text shows them
    std::vector<OptionSpec> options;
    std::size_t min_args = 0, max_args = 0;
    const char *arg_name = "";             ///< the positional argument, for messages
    std::optional<NumberSpec> number = {}; ///< the positional arguments are numbers
};

const NumberSpec generation{1, UINT64_MAX, "generations start at 1; without GEN, rollback goes back to the previous good generation"};

const std::vector<VerbSpec> &verbs() {
    static const std::vector<VerbSpec> v{
        {"status", "[--json]", {{"--json"}}},
        {"sync", "[--dry-run] [--accept-rewrite] [--allow-deletions N] [--retry]",
         {{"--dry-run"}, {"--accept-rewrite"}, {"--allow-deletions", "N", false, NumberSpec{0, UINT32_MAX}}, {"--retry"}}},
        {"diff", "", {}},
        {"history", "[--json]", {{"--json"}}},
        {"events", "[--follow] [--since TIME] [--json]", {{"--follow"}, {"--since", "TIME"}, {"--json"}}}, // events_cmd.hpp
        {"rollback", "[GEN]", {}, 0, 1, "GEN", generation},
        {"suspend", "", {}},
        {"resume", "", {}},
        {"repair", "[--yes]", {{"--yes"}}},
        {"validate", "DIR...", {}, 1, SIZE_MAX, "DIR"},
        {"render", "HOSTDIR [--host NAME] [--var NAME=VALUE]...", {{"--host", "NAME"}, {"--var", "NAME=VALUE", true}}, 1, 1, "HOSTDIR"},
        {"check", "[--json] [--fast]", {{"--json"}, {"--fast"}}},
        {"identity", "[recipient|ssh]", {}, 0, 1, "recipient|ssh"},
        {"encrypt", "-r RECIPIENT [-r RECIPIENT...] [-a]",
         {{"-r", "RECIPIENT", true}, {"--recipient", "RECIPIENT", true}, {"-a"}, {"--armor"}}},
    };
    return v;
}

/// A verb's words, checked against its VerbSpec.
struct Args {
    std::vector<std::string> words; ///< as given, for the verbs that read them again
    std::vector<std::string> positional;
    std::set<std::string> given;                  ///< the options given
    std::map<std::string, std::uint64_t> numbers; ///< a numeric option's or argument's value, by its name

    bool has(const std::string &option) const { return given.count(option) > 0; }
};

// "--json", "-r": an option. "-1", "+3", "-" are arguments (so "rollback -1" is told that a
// sign is not allowed, not that -1 is an unknown option).
bool is_option(const std::string &w) {
    return w.size() >= 2 && w[0] == '-' && (w[1] == '-' || (w[1] >= 'a' && w[1] <= 'z') || (w[1] >= 'A' && w[1] <= 'Z'));
}

/// Checks `words` against `spec`; on a usage error, the message (and `out` is not to be used).
std::string parse_args(const VerbSpec &spec, const std::vector<std::string> &words, Args &out) {
    std::string verb = spec.name;
    auto number = [&](const NumberSpec &ns, const std::string &what, const std::string &word) -> std::string {
        auto n = parse_uint(word, ns.min, ns.max);
        if (!n) {
            std::string why = n.error().message;
            if (why.rfind("less than", 0) == 0 && *ns.below_min) why += " (" + std::string(ns.below_min) + ")";
            return verb + ": " + what + " \"" + word + "\": " + why;
        }
        out.numbers[what] = *n;
        return "";
    };
    out.words = words;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string &w = words[i];
        if (!is_option(w)) {
            if (out.positional.size() >= spec.max_args) {
                if (spec.max_args == 0) return verb + " takes no argument (got \"" + w + "\")";
                return verb + " takes at most " + std::to_string(spec.max_args) + " argument" + (spec.max_args == 1 ? "" : "s") +
                       " (" + spec.arg_name + "); \"" + w + "\" is one too many";
            }
            if (spec.number)
                if (auto e = number(*spec.number, spec.arg_name, w); !e.empty()) return e;
            out.positional.push_back(w);
            continue;
        }
        auto o = std::find_if(spec.options.begin(), spec.options.end(), [&](const OptionSpec &x) { return w == x.name; });
        if (o == spec.options.end()) {
            std::string takes;
            for (const auto &x : spec.options) takes += (takes.empty() ? "" : ", ") + std::string(x.name);
            return verb + " takes no option " + w + (takes.empty() ? "" : " (it takes " + takes + ")");
        }
        if (out.has(w) && !o->repeat) return verb + ": " + w + " is given twice";
        if (o->value) {
            if (i + 1 >= words.size()) return verb + ": " + w + " needs " + o->value;
            if (o->number)
                if (auto e = number(*o->number, w, words[i + 1]); !e.empty()) return e;
            ++i;
        }
        out.given.insert(w);
    }
    if (out.positional.size() < spec.min_args) return verb + " needs " + spec.arg_name;
    return "";
}

// Config for verbs that only need the state dir: a missing default config is fine (defaults).
Result<Config> config_for(const std::string &file, bool explicit_file) {
    HostFacts f{host_name(), machine_id()};
    if (!explicit_file && ::access(file.c_str(), F_OK) < 0) return parse_config("", file, f);
    return load_config(file, f);
}

int print_sync(const nlohmann::json &r) {
    // The plan names the repo's files (describe() escapes them too); the message may quote a
    // command's output. Neither reaches the terminal with its control characters.
    std::string plan = r.value("plan", "");
    if (!plan.empty()) std::fputs(tty_lines(plan).c_str(), stdout);
    std::printf("%s\n", tty_lines(r.value("message", "")).c_str());
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

int not_running(const std::string &verb) {
    return failed("fjordd is not running, and `" + verb + "` needs it (systemctl start fjord; `fjordd --once` does one sync without it)");
}

} // namespace

int run_cli(int argc, char **argv) {
    std::string config_file = default_config_file;
    bool explicit_config = false;
    std::vector<std::string> words;
    for (int i = 1; i < argc; ++i) {
        std::string w = argv[i];
        if (w == "--config" || w.rfind("--config=", 0) == 0) {
            if (w == "--config" && i + 1 >= argc) return usage_error("--config needs FILE");
            config_file = w == "--config" ? argv[++i] : w.substr(9);
            if (config_file.empty()) return usage_error("--config needs FILE (got an empty one)");
            explicit_config = true;
        } else if (w == "--help" || w == "-h" || w == "help") {
            std::fputs(usage_text, stdout);
            return 0;
        } else {
            words.push_back(w);
        }
    }
    if (words.empty()) return usage_error("no verb given");
    std::string verb = words.front();
    words.erase(words.begin());
    auto spec = std::find_if(verbs().begin(), verbs().end(), [&](const VerbSpec &v) { return verb == v.name; });
    if (spec == verbs().end()) return usage_error("unknown verb " + verb);
    Args a;
    if (auto e = parse_args(*spec, words, a); !e.empty()) {
        std::fprintf(stderr, "fjordctl: %s\nusage: fjordctl [--config FILE] %s%s%s\n", tty(e).c_str(), spec->name,
                     *spec->usage ? " " : "", spec->usage);
        return 2;
    }

    if (verb == "encrypt") return run_encrypt(a.words); // needs no config: operators run it on their laptop
    // events (cli/events_cmd.cpp) needs no config either: it reads the journal.
    if (verb == "events") {
        auto since = std::find(a.words.begin(), a.words.end(), "--since");
        return run_events(a.has("--follow"), since == a.words.end() ? "" : *std::next(since), a.has("--json"));
    }
    auto cfg = config_for(config_file, explicit_config);
    if (!cfg) {
        std::fprintf(stderr, "fjordctl: %s\n", tty_lines(cfg.error().message).c_str());
        return 2;
    }

    if (verb == "status") return run_status(*cfg, a.has("--json"));
    if (verb == "check") return run_check(*cfg, a.words);
    if (verb == "identity") return run_identity(*cfg, a.words);
    if (verb == "history") return run_history(*cfg, a.has("--json"));
    if (verb == "sync" || verb == "diff") {
        nlohmann::json req{{"cmd", verb}, {"dry_run", a.has("--dry-run")}, {"accept_rewrite", a.has("--accept-rewrite")},
                           {"retry", a.has("--retry")}, {"progress", verb == "sync" && ::isatty(STDOUT_FILENO)}};
        if (a.has("--allow-deletions")) req["allow_deletions"] = a.numbers.at("--allow-deletions");
        return via_daemon(*cfg, req, 3'600'000, [&] { return not_running(verb); });
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
    if (verb == "validate") return run_validate(*cfg, a.words);
    if (verb == "render") return run_render(*cfg, a.words);
    return usage_error("unknown verb " + verb);
}

} // namespace fjord
