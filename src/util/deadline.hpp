#pragma once
// Time left before a deadline on the monotonic clock, in the units the waits that take it want
// (poll(2) in milliseconds, sd_bus_wait in microseconds). Header-only.
#include <chrono>
#include <climits>
#include <cstdint>

namespace fjord {

/// Milliseconds from now to `deadline`, rounded up and within [0, INT_MAX]: poll(2)'s timeout.
/// 0 once the deadline has passed; never 0 before it, so a wait does not end early by rounding.
[[nodiscard]] inline int left_ms(std::chrono::steady_clock::time_point deadline) {
    auto d = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return d <= 0 ? 0 : d >= INT_MAX ? INT_MAX : static_cast<int>(d);
}

/// Seconds on the monotonic clock (backoff deadlines: wall-clock jumps do not move them).
[[nodiscard]] inline std::int64_t steady_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Microseconds from now to `deadline`, rounded up, 0 once it has passed: sd_bus_wait's timeout.
[[nodiscard]] inline std::uint64_t left_us(std::chrono::steady_clock::time_point deadline) {
    auto d = std::chrono::ceil<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now()).count();
    return d <= 0 ? 0 : static_cast<std::uint64_t>(d);
}

} // namespace fjord
