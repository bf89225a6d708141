#pragma once
// fjordctl's command line: one table of verbs, each its own CLI11 subcommand with only its
// options. The help texts and the shell completions are made from the same table, so none of
// them can drift from what the parser takes.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fjord {

/// A verb's words, checked against its definition.
struct CliArgs {
    std::string verb;
    std::string config_file;          ///< --config FILE, before or after the verb ("" = not given)
    std::vector<std::string> words;   ///< the verb's words as given, --config left out
    std::vector<std::string> positional;
    std::set<std::string> given;                  ///< the options given, by their long name
    std::map<std::string, std::uint64_t> numbers; ///< a numeric option's or argument's value, by its name

    bool has(const std::string &option) const { return given.count(option) > 0; }
};

/// What the command line asks: run a verb, or print `text` and exit with `exit_code` (help,
/// version, a usage error: then `text` goes to stderr).
struct CliParse {
    enum class Kind { run, print, usage_error } kind = Kind::run;
    CliArgs args;
    std::string text;
    int exit_code = 0;
};

/// Parses fjordctl's argv. Nothing is read and no daemon is asked: a wrong word never turns
/// into an action (`rollback 0x3` once rolled back to generation 0 = "previous").
[[nodiscard]] CliParse parse_cli(int argc, const char *const *argv);

/// `fjordctl --help`: every verb, one entry each.
[[nodiscard]] std::string cli_usage();

/// What the parser knows of one verb, read back from the parser itself (for completions).
struct CliOptionInfo {
    std::vector<std::string> names; ///< "-r", "--recipient"
    std::string value;              ///< its value's name ("N"), "" for a flag
    std::string help;
    bool repeat = false;
};
struct CliVerbInfo {
    std::string name, help;
    std::vector<CliOptionInfo> options; ///< --help and --config included
    std::size_t max_args = 0;
    std::string arg_name;               ///< "GEN", "DIR"
    std::string arg_kind;               ///< how a shell completes the arguments: "dir", "words:a b", ""
};
/// The global options (--config, --help, --version) and every verb, as the parser has them.
struct CliInfo {
    std::vector<CliOptionInfo> options;
    std::vector<CliVerbInfo> verbs;
};
[[nodiscard]] CliInfo cli_info();

} // namespace fjord
