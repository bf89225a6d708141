#pragma once
// String algorithms more than one layer needs: a '*'/'?' wildcard match (known_hosts host
// patterns, image tag policies), a natural order of digit runs (image tags), short commit ids.
#include <string>
#include <string_view>

namespace fjord {

/// Whether all of `s` matches `pattern`: '*' any run of characters ('/' included), '?' any one.
/// No bracket expressions, unlike fnmatch: "[host]:port" is literal.
[[nodiscard]] bool wildcard_match(std::string_view pattern, std::string_view s);
/// -1, 0 or 1: digit runs compare as numbers, everything else byte by byte ("rc10" after
/// "rc9", "1.10" after "1.9"). Numbers equal but for leading zeros ("01", "1") compare equal.
[[nodiscard]] int natural_compare(std::string_view a, std::string_view b);
/// `message` without the elapsed times libcurl puts in its own ("Failed to connect to host port
/// 80 after 3 ms: ...", "Operation timed out after 30001 milliseconds with ..."): a message
/// that changes with the machine's load would be said again where fjord says a repeated error
/// once (a registry down, a poll failing).
[[nodiscard]] std::string without_elapsed(std::string message);
/// A commit id as logs show it: its first 12 hex digits.
[[nodiscard]] inline std::string short_id(std::string_view commit) { return std::string(commit.substr(0, 12)); }
/// Why `name` cannot be one component of a fleet ref (a host or wave name in the status
/// repository): [A-Za-z0-9][A-Za-z0-9._-]{0,62}, not ending in "." or ".lock"; "" when it can.
/// Here rather than in fleet/ because config/ checks report.host with it too.
[[nodiscard]] std::string ref_component_problem(std::string_view name);

} // namespace fjord
