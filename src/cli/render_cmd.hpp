#pragma once
// fjordctl render and validate: a host folder of a checkout rendered offline, templates too.
#include "config/config.hpp"
#include <string>
#include <vector>

namespace fjord {

/// `fjordctl render HOSTDIR [--host NAME] [--var NAME=VALUE]...`: the files one host would get,
/// then every rendered template in full. 0 ok, 1 the folder does not render, 2 usage.
[[nodiscard]] int run_render(const Config &cfg, const std::vector<std::string> &args);

/// `fjordctl validate DIR...`: renders every host folder found under each DIR and reports
/// every error (each failing template of each host). 0 all good, 1 any error, 2 usage.
[[nodiscard]] int run_validate(const Config &cfg, const std::vector<std::string> &args);

} // namespace fjord
