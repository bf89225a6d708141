#pragma once
// The small Mustache subset fjord renders `.tmpl` files with: substitution and comments only.
// Sections, partials and delimiter changes are refused rather than half-supported.
#include "util/result.hpp"
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace fjord {

/// Finds the value of a template variable; nullptr when it is not defined.
using TemplateLookup = std::function<const std::string *(std::string_view name)>;

/// Renders `text`: {{name}}, {{{name}}} and {{&name}} substitute raw (no HTML escaping),
/// {{! comment}} vanishes (with its line when it stands alone). Errors read "ORIGIN:LINE: why";
/// output larger than max_size is refused.
[[nodiscard]] Result<std::string> render_template(std::string_view text, const TemplateLookup &lookup,
                                                  const std::string &origin, std::uint64_t max_size);

} // namespace fjord
