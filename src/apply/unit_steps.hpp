#pragma once
// Doing a unit plan (plan/units.hpp) through the systemd manager (host/systemd.hpp).
#include "host/systemd.hpp"
#include "plan/units.hpp"
#include <vector>

namespace fjord {

/// Runs steps in order; the first failure stops and is returned, naming the unit.
[[nodiscard]] Status run_unit_steps(SystemdManager &sd, const std::vector<UnitStep> &steps);

} // namespace fjord
