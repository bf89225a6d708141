#include "cli/args.hpp"

#include "cli/tty.hpp"
#include "util/parse.hpp"
#include "version.hpp"

// CLI11 (Debian libcli11-dev, header-only) parses; its exceptions stay in this file.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <optional>

namespace fjord {
namespace {

/// A numeric argument: strictly decimal, within [min, max] (util/parse.hpp parse_uint).
struct NumberSpec {
    std::uint64_t min = 0, max = UINT64_MAX;
    const char *below_min = ""; ///< said after "less than MIN", why
};

/// An option of a verb; `value` names its value ("N"), nullptr for a flag.
struct OptionSpec {
    const char *names; ///< CLI11's form: "-r,--recipient"
    const char *value;
    const char *help;
    bool repeat = false;                   ///< may be given more than once (--var, -r)
    std::optional<NumberSpec> number = {}; ///< the value is a number
};

/// One verb: what it takes, and its entry in fjordctl --help.
struct VerbSpec {
    const char *name;
    const char *title;                ///< its column in fjordctl --help; nullptr: listed with the verb before
    std::vector<const char *> summary; ///< its lines in fjordctl --help
    const char *usage;                ///< its ARGS in the usage line of an error and of VERB --help
    std::vector<OptionSpec> options;
    std::size_t min_args = 0, max_args = 0;
    const char *arg_name = "";             ///< the positional argument, for messages
    std::optional<NumberSpec> number = {}; ///< the positional arguments are numbers
    const char *arg_kind = "";             ///< how a shell completes them: "dir", "words:a b", "verbs"
};

const NumberSpec generation{1, UINT64_MAX, "generations start at 1; without GEN, rollback goes back to the previous good generation"};
constexpr const char *json_help = "print JSON";

// clang-format off
const std::vector<VerbSpec> &verbs() {
    static const std::vector<VerbSpec> v{
        {"status", "status [--json]", {"source, remote head, commit applied and last attempted (its", "outcome and reason), generation, last sync and error, next poll,",
                                       "paused or not, drift, prerequisites; exit 0 running and on the", "newest good state, 1 failed/refused/paused, 3 fjordd not running"},
         "[--json]", {{"--json", nullptr, json_help}}},
        {"sync", "sync [--dry-run] [--accept-rewrite] [--allow-deletions N] [--retry] [--skip-waves]",
         {"reconcile now and print what happened (at a terminal,", "progress while it applies and checks)"},
         "[--dry-run] [--accept-rewrite] [--allow-deletions N] [--retry] [--skip-waves]",
         {{"--dry-run", nullptr, "show the plan, change nothing"},
          {"--accept-rewrite", nullptr, "accept a force-pushed branch, once"},
          {"--allow-deletions", "N", "allow a commit deleting up to N things, once (over apply.max_deletions)", false, NumberSpec{0, UINT32_MAX}},
          {"--retry", nullptr, "try again a commit that failed before; also lifts a halt"},
          {"--skip-waves", nullptr, "apply the newest commit now, outside fleet.toml's wave gate, once (logged)"}}},
        {"diff", "diff [--stat] [--exit-code] [--local DIR]",
         {"what the newest commit would change here, with content: a unified", "diff per file against the live host, mode, owner and type changes,",
          "units, containers; secrets as \"secret changed\" only; then why an", "apply would refuse it (exit 3); nothing is applied.",
          "--local DIR: a checkout of the fleet repo instead, before a push"},
         "[--stat] [--exit-code] [--local DIR]",
         {{"--stat", nullptr, "one line a change, without content"},
          {"--exit-code", nullptr, "exit 1 when there are changes, 0 when none, 2 on an error (as git diff)"},
          {"--local", "DIR", "preview the checkout DIR (its source.path folder) against this host; writes nothing"}}},
        {"history", "history [--json]", {"generations and commits that never became one: number, commit,", "time, changes (files added, changed, removed; units restarted),", "outcome, note (cut to the terminal's width)"},
         "[--json]", {{"--json", nullptr, json_help}}},
        {"show", "show [GEN|COMMIT] [--json]", {"one history entry in full (default the newest): outcome and whole", "reason, files, units and containers changed, checks and hooks with",
                                                "results and output, timings; COMMIT: 7 or more hex digits"},
         "[GEN|COMMIT] [--json]", {{"--json", nullptr, json_help}}, 0, 1, "GEN|COMMIT"},
        {"events", "events [--follow] [--since TIME] [--json]",
         {"fjord's journal events (applied, refused, rolled back, drift,", "image updates...), one line each; --follow waits for new ones;",
          "TIME: \"2026-12-04 10:00\", \"1h ago\", \"-30m\", \"@EPOCH\", \"today\""},
         "[--follow] [--since TIME] [--json]",
         {{"--follow", nullptr, "print the last 10 events (or those since TIME), then wait for new ones"},
          {"--since", "TIME", "only events at or after TIME"},
          {"--json", nullptr, "one JSON object a line"}}},
        {"rollback", "rollback [GEN]", {"back to the previous (or a given) good generation, then pinned"}, "[GEN]", {}, 0, 1, "GEN", generation},
        {"suspend", "suspend | resume", {"stop / restart applying (polling and status go on)"}, "", {}},
        {"resume", nullptr, {"restart applying (and release a rollback's pin or a halt)"}, "", {}},
        {"repair", "repair [--yes]", {"what is damaged in the state directory that fjord cannot", "rebuild by itself, and what repair would do; --yes does it"},
         "[--yes]", {{"--yes", nullptr, "do the repair"}}},
        {"validate", "validate DIR...", {"render every host folder found in DIR (DIR/hosts/*, DIR itself,", "or its host subfolders) offline; reports every error"},
         "DIR...", {}, 1, SIZE_MAX, "DIR", {}, "dir"},
        {"render", "render HOSTDIR [--host NAME] [--var NAME=VALUE]...",
         {"what one host would get, offline: its files, then each rendered", "template in full. Facts are this machine's; --host NAME renders",
          "as NAME (other host.* facts are placeholders); --var sets a var", "or a fact, over everything (VALUE is TOML when it parses: 8, [\"a\"])"},
         "HOSTDIR [--host NAME] [--var NAME=VALUE]...",
         {{"--host", "NAME", "render as host NAME (other host.* facts are placeholders)"},
          {"--var", "NAME=VALUE", "set a var or a fact, over everything", true}},
         1, 1, "HOSTDIR", {}, "dir"},
        {"check", "check [--json] [--fast]", {"host prerequisites, pass/warn/fail each, measured here (no daemon needed)"},
         "[--json] [--fast]", {{"--json", nullptr, json_help}, {"--fast", nullptr, "skip the slow probes (fdatasync, steal sampling)"}}},
        {"identity", "identity [recipient|ssh]", {"the age recipient and the SSH deploy key of this host"}, "[recipient|ssh]", {}, 0, 1,
         "recipient|ssh", {}, "words:recipient ssh"},
        {"encrypt", "encrypt -r RECIPIENT [-a]", {"age-format encryption of stdin for a host (-r again: more hosts)"},
         "-r RECIPIENT [-r RECIPIENT...] [-a]",
         {{"-r,--recipient", "RECIPIENT", "encrypt for this age recipient (again: more hosts)", true},
          {"-a,--armor", nullptr, "write ASCII armor"}}},
        {"fleet", "fleet [--json] [--url URL] [--commit C]",
         {"every host's last report in the status repository ([report] url):", "commit, generation, wave, state, age (STALE past 3 heartbeats);",
          "then per recent commit: good, failed, waiting, not yet reporting,", "wave by wave, and the rollout's state (no daemon needed)"},
         "[--json] [--url URL] [--commit C]",
         {{"--json", nullptr, json_help},
          {"--url", "URL", "read this status repository instead of [report] url (the key and known_hosts stay [report]'s)"},
          {"--commit", "C", "that commit only (7 to 40 hex digits), instead of the 3 newest"}}},
        {"completion", "completion bash|zsh", {"the shell completion script, made from this parser"}, "bash|zsh", {}, 1, 1, "bash|zsh", {},
         "words:bash zsh"},
        {"help", "help [VERB]", {"this text, or one verb's usage and options (as VERB --help)"}, "[VERB]", {}, 0, 1, "VERB", {}, "verbs"},
    };
    return v;
}
// clang-format on

constexpr const char *config_help = "agent configuration (default /etc/fjord/fjord.toml)";
constexpr const char *usage_head = "usage: fjordctl [--config FILE] VERB [ARGS]\n\n";
constexpr const char *usage_tail = "\n"
                                   "  --config FILE            agent configuration (default /etc/fjord/fjord.toml)\n"
                                   "  -h, --help               this text; VERB --help: that verb's usage and options\n"
                                   "  --version                print the version\n"
                                   "Exit status: 0 success, 1 the operation failed, 2 usage or config error,\n"
                                   "3 a preview (diff, sync --dry-run) of a commit an apply would refuse, or (status)\n"
                                   "fjordd not running (status: 1 when it runs but is not on the newest good state).\n";

const VerbSpec *find_verb(const std::string &name) {
    auto v = std::find_if(verbs().begin(), verbs().end(), [&](const VerbSpec &s) { return name == s.name; });
    return v == verbs().end() ? nullptr : &*v;
}

std::string usage_line(const VerbSpec &v) {
    return std::string("usage: fjordctl [--config FILE] ") + v.name + (*v.usage ? " " : "") + v.usage + "\n";
}

// "-r,--recipient" -> {"-r", "--recipient"}
std::vector<std::string> split_names(const char *names) {
    std::vector<std::string> out;
    std::string s = names;
    for (std::size_t i = 0; i <= s.size();) {
        std::size_t j = std::min(s.find(',', i), s.size());
        out.push_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::string long_name(const OptionSpec &o) { return split_names(o.names).back(); }

std::string option_lines(const std::vector<CliOptionInfo> &opts) {
    std::string out;
    for (const auto &o : opts) {
        std::string left = "  ";
        for (std::size_t i = 0; i < o.names.size(); ++i) left += (i ? ", " : "") + o.names[i];
        if (!o.value.empty()) left += " " + o.value;
        if (left.size() < 27) left.resize(27, ' ');
        else left += "\n" + std::string(27, ' ');
        out += left + o.help + "\n";
    }
    return out;
}

CliOptionInfo info_of(const OptionSpec &o) { return {split_names(o.names), o.value ? o.value : "", o.help, o.repeat}; }

std::vector<CliOptionInfo> verb_options(const VerbSpec &v) {
    std::vector<CliOptionInfo> out;
    for (const auto &o : v.options) out.push_back(info_of(o));
    out.push_back({{"--config"}, "FILE", config_help, false});
    out.push_back({{"-h", "--help"}, "", "this help", false});
    return out;
}

std::string verb_help(const VerbSpec &v) {
    std::string out = usage_line(v) + "\n";
    for (const char *l : v.summary) out += std::string("  ") + l + "\n";
    return out + "\noptions:\n" + option_lines(verb_options(v));
}

// "--json", "-r": an option. "-1", "+3", "-" are arguments (so "rollback -1" is told that a
// sign is not allowed, not that -1 is an unknown option).
bool is_option(const std::string &w) {
    return w.size() >= 2 && w[0] == '-' && (w[1] == '-' || (w[1] >= 'a' && w[1] <= 'z') || (w[1] >= 'A' && w[1] <= 'Z'));
}

/// The parser: the table as CLI11 subcommands, each with only its own options.
struct Parser {
    CLI::App app{"fjordctl: the operator's tool for fjordd", "fjordctl"};
    std::vector<std::string> config;
    bool help = false, version = false;
    struct Verb {
        const VerbSpec *spec;
        CLI::App *sub;
        std::vector<std::string> config, positional;
        bool help = false;
        std::vector<std::pair<const OptionSpec *, CLI::Option *>> options;
        std::vector<std::vector<std::string>> values; ///< one per option (flags count)
    };
    std::vector<Verb> subs;

    Parser() {
        app.set_help_flag();
        app.allow_extras(true); // words before the verb are judged below, with fjord's own messages
        app.require_subcommand(0, 1);
        app.add_option("--config", config)->type_name("FILE")->allow_extra_args(false);
        app.add_flag("-h,--help", help);
        app.add_flag("--version", version);
        subs.reserve(verbs().size());
        for (const auto &v : verbs()) {
            Verb &s = subs.emplace_back();
            s.spec = &v;
            s.sub = app.add_subcommand(v.name, v.summary.empty() ? "" : v.summary.front());
            s.sub->set_help_flag();
            s.sub->allow_extras(true); // an unknown option or word is refused below, naming the verb
            s.sub->add_option("--config", s.config)->type_name("FILE")->allow_extra_args(false);
            s.sub->add_flag("-h,--help", s.help);
            s.values.resize(v.options.size());
            for (std::size_t i = 0; i < v.options.size(); ++i) {
                const OptionSpec &o = v.options[i];
                CLI::Option *opt = o.value ? s.sub->add_option(o.names, s.values[i], o.help)->type_name(o.value)->allow_extra_args(false)
                                           : s.sub->add_flag(o.names, o.help)->disable_flag_override();
                s.options.emplace_back(&o, opt);
            }
            // Every argument is taken here and counted in judge(), which names the one too many.
            if (v.max_args > 0) s.sub->add_option("args", s.positional)->expected(0, CLI::detail::expected_max_vector_size);
        }
    }
};

CliParse usage_error(const std::string &msg, const std::string &usage) {
    CliParse p;
    p.kind = CliParse::Kind::usage_error;
    p.exit_code = 2;
    p.text = "fjordctl: " + tty(msg) + "\n" + usage;
    return p;
}

CliParse print(std::string text) {
    CliParse p;
    p.kind = CliParse::Kind::print;
    p.text = std::move(text);
    return p;
}

/// The verb's words after CLI11 took what it knows: each is judged with fjord's message.
std::string judge(const Parser::Verb &s, CliArgs &out) {
    const VerbSpec &spec = *s.spec;
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
    for (const auto &w : s.sub->remaining()) {
        if (w == "--") continue;
        if (is_option(w)) {
            std::string takes;
            for (const auto &o : spec.options)
                for (const auto &n : split_names(o.names)) takes += (takes.empty() ? "" : ", ") + n;
            auto eq = w.find('=');
            return verb + " takes no option " + w.substr(0, eq) + (takes.empty() ? "" : " (it takes " + takes + ")");
        }
        return verb + " takes no argument (got \"" + w + "\")"; // a verb with arguments takes them all, and judges the count below
    }
    for (std::size_t i = 0; i < s.options.size(); ++i) {
        const auto &[o, opt] = s.options[i];
        if (opt->count() == 0) continue;
        std::string name = long_name(*o);
        if (opt->count() > 1 && !o->repeat) return verb + ": " + name + " is given twice";
        if (o->number)
            for (const auto &val : s.values[i])
                if (auto e = number(*o->number, name, val); !e.empty()) return e;
        out.given.insert(name);
    }
    if (s.positional.size() > spec.max_args)
        return verb + " takes at most " + std::to_string(spec.max_args) + " argument" + (spec.max_args == 1 ? "" : "s") + " (" +
               spec.arg_name + "); \"" + s.positional[spec.max_args] + "\" is one too many";
    std::string kind = spec.arg_kind;
    for (const auto &w : s.positional) {
        if (spec.number)
            if (auto e = number(*spec.number, spec.arg_name, w); !e.empty()) return e;
        if (kind.rfind("words:", 0) == 0 && (w.find(' ') != std::string::npos || (" " + kind.substr(6) + " ").find(" " + w + " ") == std::string::npos))
            return verb + ": \"" + w + "\" is not one of " + spec.arg_name;
    }
    if (s.positional.size() < spec.min_args) return verb + " needs " + spec.arg_name;
    out.positional = s.positional;
    return "";
}

/// The verb named on the command line (the first word that is not an option or --config's
/// value), for messages about a parse CLI11 gave up on.
const VerbSpec *verb_in(int argc, const char *const *argv) {
    for (int i = 1; i < argc; ++i) {
        std::string w = argv[i];
        if (w == "--config") ++i;
        else if (!is_option(w)) return find_verb(w);
    }
    return nullptr;
}

} // namespace

std::string cli_usage() {
    std::string out = usage_head;
    for (const auto &v : verbs()) {
        if (!v.title) continue;
        // The summary starts at column 27, beside the title when it fits, else below it.
        std::string left = std::string("  ") + v.title;
        bool beside = left.size() <= 27;
        if (beside) left.resize(std::max<std::size_t>(left.size() + 1, 27), ' ');
        else out += left + "\n";
        for (std::size_t i = 0; i < v.summary.size(); ++i)
            out += (i == 0 && beside ? left : std::string(27, ' ')) + v.summary[i] + "\n";
    }
    return out + usage_tail;
}

CliParse parse_cli(int argc, const char *const *argv) {
    Parser p;
    // CLI11 would take the next word as the value of an empty "--config=".
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--config=") return usage_error("--config needs FILE (got an empty one)", cli_usage());
    try {
        p.app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        // A value missing (--allow-deletions at the end), or a value given to a flag.
        const VerbSpec *v = verb_in(argc, argv);
        std::string usage = v ? usage_line(*v) : cli_usage();
        std::string what = e.what();
        if (what.rfind("--config:", 0) == 0) return usage_error("--config needs FILE", usage);
        if (v)
            for (const auto &o : v->options)
                for (const auto &n : split_names(o.names)) {
                    if (o.value && what.rfind(n + ":", 0) == 0) return usage_error(std::string(v->name) + ": " + n + " needs " + o.value, usage);
                    for (int i = 1; i < argc && !o.value; ++i)
                        if (std::string(argv[i]).rfind(n + "=", 0) == 0) return usage_error(std::string(v->name) + ": " + n + " takes no value", usage);
                }
        return usage_error(v ? std::string(v->name) + ": " + what : what, usage);
    }
    const Parser::Verb *s = nullptr;
    for (const auto &sub : p.subs)
        if (sub.sub->parsed()) s = &sub;
    if (p.version) return print(std::string("fjordctl ") + FJORD_VERSION + "\n");
    if (p.help && !s) return print(cli_usage());
    for (const auto &w : p.app.remaining()) {
        if (is_option(w)) return usage_error("unknown option " + w.substr(0, w.find('=')) + (s ? " before the verb" : ""), cli_usage());
        return usage_error("unknown verb " + w, cli_usage());
    }
    if (!s) return usage_error("no verb given", cli_usage());
    if (s->help) return print(verb_help(*s->spec));

    CliParse out;
    CliArgs &a = out.args;
    a.verb = s->spec->name;
    if (auto e = judge(*s, a); !e.empty()) return usage_error(e, usage_line(*s->spec));
    for (const std::vector<std::string> *c : {static_cast<const std::vector<std::string> *>(&p.config), &s->config})
        for (const auto &f : *c) {
            if (f.empty()) return usage_error("--config needs FILE (got an empty one)", usage_line(*s->spec));
            a.config_file = f;
        }
    // The verb's own words, for the verbs that read them again: everything after the verb but
    // --config and its value, in one spelling (CLI11 took "--host=web1", "-rKEY" and "-ar KEY";
    // the verbs read "--host web1", "-r KEY", "-a -r KEY").
    bool after = false, rest_positional = false;
    auto takes_value = [&](const std::string &name) {
        for (const auto &o : s->spec->options)
            for (const auto &n : split_names(o.names))
                if (n == name) return o.value != nullptr;
        return false;
    };
    auto add_word = [&](const std::string &w) {
        if (rest_positional || !is_option(w)) return a.words.push_back(w);
        if (w == "--") return void(rest_positional = true);
        if (w.rfind("--", 0) == 0) {
            auto eq = w.find('=');
            a.words.push_back(w.substr(0, eq));
            if (eq != std::string::npos) a.words.push_back(w.substr(eq + 1));
            return;
        }
        for (std::size_t k = 1; k < w.size(); ++k) { // a cluster of short options
            std::string name = std::string("-") + w[k];
            a.words.push_back(name);
            if (takes_value(name)) {
                if (k + 1 < w.size()) a.words.push_back(w.substr(k + 1));
                return;
            }
        }
    };
    for (int i = 1; i < argc; ++i) {
        std::string w = argv[i];
        if (!rest_positional && w == "--config") ++i;
        else if (!rest_positional && w.rfind("--config=", 0) == 0) continue;
        else if (after) add_word(w);
        else if (!is_option(w)) after = true;
    }
    if (a.verb == "help") {
        if (a.positional.empty()) return print(cli_usage());
        const VerbSpec *v = find_verb(a.positional.front());
        if (!v) return usage_error("unknown verb " + a.positional.front(), cli_usage());
        return print(verb_help(*v));
    }
    return out;
}

CliInfo cli_info() {
    // Read back from the parser itself, so a completion can only offer what it takes.
    Parser p;
    CliInfo info;
    info.options = {{{"--config"}, "FILE", config_help, false},
                    {{"-h", "--help"}, "", "print the usage text", false},
                    {{"--version"}, "", "print the version", false}};
    for (const auto &s : p.subs) {
        CliVerbInfo v;
        v.name = s.sub->get_name();
        v.help = s.sub->get_description();
        for (const auto *opt : s.sub->get_options()) {
            if (opt->get_positional()) continue;
            CliOptionInfo o;
            for (const auto &n : opt->get_snames()) o.names.push_back("-" + n);
            for (const auto &n : opt->get_lnames()) o.names.push_back("--" + n);
            if (opt->get_type_size() != 0) o.value = opt->get_type_name();
            o.help = opt->get_description();
            for (const auto &[spec, o2] : s.options)
                if (o2 == opt) o.repeat = spec->repeat;
            v.options.push_back(o);
        }
        // --config and --help carry no description in the parser: the table's words.
        for (auto &o : v.options)
            if (o.help.empty()) o.help = o.names.back() == "--config" ? config_help : "this verb's usage and options";
        v.max_args = s.spec->max_args;
        v.arg_name = s.spec->arg_name;
        v.arg_kind = s.spec->arg_kind;
        info.verbs.push_back(std::move(v));
    }
    return info;
}

} // namespace fjord
