#pragma once
// Health checks behind narrow interfaces: a Probe makes one attempt (an HTTP GET, a TCP connect,
// a command, a unit's state), a Clock tells and waits for time. The runner's timing logic is
// tested with fakes of both; the real probes against real services.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace fjord {

/// The outcome of one attempt: ok, or what went wrong ("status 500, want 200").
struct ProbeResult {
    bool ok = false;
    std::string detail;
};

/// One kind of check, able to make one attempt within a time limit.
class Probe {
  public:
    virtual ~Probe() = default;
    /// What is checked, for messages: "http://127.0.0.1:8080/", "unit web.service".
    [[nodiscard]] virtual std::string target() const = 0;
    /// One attempt, given at most `timeout`; never throws.
    [[nodiscard]] virtual ProbeResult run(std::chrono::milliseconds timeout) = 0;
};

/// A check: a probe and when and how often to try it.
struct Check {
    std::string name;
    std::unique_ptr<Probe> probe;
    std::chrono::milliseconds initial_delay{0}, period{2'000}, timeout{1'000};
    std::int64_t failure_threshold = 3; ///< consecutive failures that fail the generation at once
};

/// Monotonic time, and waiting for it.
class Clock {
  public:
    using time_point = std::chrono::steady_clock::time_point;
    virtual ~Clock() = default;
    [[nodiscard]] virtual time_point now() = 0;
    /// Returns at `t` (at once when `t` has passed).
    virtual void sleep_until(time_point t) = 0;
};

/// The steady clock, and a real wait.
class SteadyClock final : public Clock {
  public:
    time_point now() override;
    void sleep_until(time_point t) override;
};

} // namespace fjord
