#pragma once
// fjordctl check: the host prerequisites, measured here and now (no daemon needed), and their
// line in fjordctl status (from the results fjordd saved).
#include "config/config.hpp"
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fjord {

/// `fjordctl check [--json] [--fast]`: 0 when no check fails (warns allowed), 1 when one
/// fails, 2 on a usage error.
[[nodiscard]] int run_check(const Config &cfg, const std::vector<std::string> &args);

/// Adds "prerequisites" (state.dir/prereq.json as fjordd last saved it) to a status object.
void add_prereq_status(const Config &cfg, nlohmann::json &status);

/// Prints the prerequisites lines of `fjordctl status` from what add_prereq_status added.
void print_prereq_status(const nlohmann::json &status);

} // namespace fjord
