#pragma once
// String algorithms more than one layer needs: a '*'/'?' wildcard match (known_hosts host
// patterns, image tag policies) and a natural order of digit runs (image tags).
#include <string_view>

namespace fjord {

/// Whether all of `s` matches `pattern`: '*' any run of characters ('/' included), '?' any one.
/// No bracket expressions, unlike fnmatch: "[host]:port" is literal.
[[nodiscard]] bool wildcard_match(std::string_view pattern, std::string_view s);
/// -1, 0 or 1: digit runs compare as numbers, everything else byte by byte ("rc10" after
/// "rc9", "1.10" after "1.9"). Numbers equal but for leading zeros ("01", "1") compare equal.
[[nodiscard]] int natural_compare(std::string_view a, std::string_view b);

} // namespace fjord
