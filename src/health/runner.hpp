#pragma once
// Runs a generation's checks: every check must pass once within health.timeout; a check that
// fails failure_threshold times in a row fails the whole run at once.
#include "health/check.hpp"
#include "util/result.hpp"
#include <functional>
#include <vector>

namespace fjord {

/// Runs `checks` until each has passed once (success), one reaches its failure_threshold, or
/// `timeout` passes (Errc::invalid, naming the check and its last result:
/// "check web: http://127.0.0.1:8080/: status 500, want 200 (3 failures)"). Checks are tried
/// one at a time, each when it is due; `on_attempt` (optional) sees every attempt, passed or failed.
[[nodiscard]] Status run_checks(std::vector<Check> &checks, Clock &clock, std::chrono::milliseconds timeout,
                                const std::function<void(const Check &, const ProbeResult &)> &on_attempt = {});

} // namespace fjord
