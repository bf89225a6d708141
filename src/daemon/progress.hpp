#pragma once
// What a long sync tells the operator while it runs ("checking generation 5: checks 1/3
// passing"), and the one-line change summary a generation keeps for `fjordctl history`.
#include "health/check.hpp"
#include "plan/plan.hpp"
#include <functional>
#include <string>
#include <vector>

namespace fjord {

/// Wraps every check's probe so that `report(passing, total)` is called when a check passes
/// for the first time (the runner stops trying a check once it passed).
void count_passing_checks(std::vector<Check> &checks, std::function<void(std::size_t, std::size_t)> report);

/// "+2 ~1 -0, 1 unit": files added, changed, removed (or restored to their originals), and
/// units started or restarted, for a plan made against `prev`.
[[nodiscard]] std::string change_summary(const Plan &plan, const Generation &prev, std::size_t units_restarted);

/// What a generation's checks were, for "generation 5 marked good (...)": "3 health checks
/// passed" when the manifest defines `defined` of them (the first ones of `checks`), else "no
/// health check defined" and the built-in ones (units started, the Git remote) by name.
[[nodiscard]] std::string checks_passed(const std::vector<Check> &checks, std::size_t defined);

} // namespace fjord
