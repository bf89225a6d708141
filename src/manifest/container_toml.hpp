#pragma once
// One container's table ([container.NAME] in fjord.toml, or a whole containers/NAME.toml),
// parsed into a typed ContainerSpec. Errors name file:line:col, the table, the key and why.
#include "manifest/desired_state.hpp"
#include "util/result.hpp"
#include <string>
#include "util/toml.hpp" // never toml++ directly: its asserts must be off in every unit (ODR)

namespace fjord {

/// Parses `t` as container `name`. `origin` is the repo path of the TOML file (the prefix of
/// every error, with line and column); `label` names the table in errors ("container.web", or
/// "" for containers/NAME.toml, where the file is the table). Unknown keys are refused.
[[nodiscard]] Result<ContainerSpec> parse_container_table(const toml::table &t, const std::string &name,
                                                          const std::string &origin, const std::string &label);

/// The suffix of the temporary name a replacement is created under; refused in spec names.
inline constexpr const char *container_temp_suffix = "-fjord-new";

} // namespace fjord
