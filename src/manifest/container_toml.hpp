#pragma once
// One container's table ([container.NAME] in fjord.toml, or a whole containers/NAME.toml),
// parsed into a typed ContainerSpec. Errors name file:line:col, the table, the key and why.
#include "manifest/desired_state.hpp"
#include "util/diagnostics.hpp"
#include "util/result.hpp"
#include <optional>
#include <string>
#include <string_view>
#include "util/toml.hpp" // never toml++ directly: its asserts must be off in every unit (ODR)

namespace fjord {

/// Parses `t` as container `name`. `origin` is the repo path of the TOML file (the prefix of
/// every error, with line and column); `label` names the table in errors ("container.web", or
/// "" for containers/NAME.toml, where the file is the table). Unknown keys are refused.
/// With `all`, an error of a key goes there and the other keys are still read (the spec is then
/// incomplete); an error about the whole table is still returned.
[[nodiscard]] Result<ContainerSpec> parse_container_table(const toml::table &t, const std::string &name,
                                                          const std::string &origin, const std::string &label,
                                                          Diagnostics *all = nullptr);

/// `p` as an absolute normalised path ("//" and "." dropped, no trailing "/"), or nullopt when
/// it is not absolute or has a ".." segment (which could climb out of what it names).
[[nodiscard]] std::optional<std::string> normal_container_path(std::string_view p);

/// Re-checks every field of `c` that podman gets, as the parser takes them: name, image
/// reference, argv (command, healthcheck) printable and bounded, env names, ports, volumes
/// (absolute, normalised), restart, labels (no io.fjord.*), limits. The error is "KEY: reason".
[[nodiscard]] Status check_container_fields(const ContainerSpec &c);

/// The suffix of the temporary name a replacement is created under; refused in spec names.
inline constexpr const char *container_temp_suffix = "-fjord-new";

} // namespace fjord
