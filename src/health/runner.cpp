#include "health/runner.hpp"

#include <thread>

namespace fjord {

Clock::time_point SteadyClock::now() { return std::chrono::steady_clock::now(); }

void SteadyClock::sleep_until(time_point t) { std::this_thread::sleep_until(t); }

namespace {

struct CheckState {
    Clock::time_point due;
    std::int64_t failures = 0;
    bool passed = false;
    std::string last = "not run yet";
};

std::string seconds(std::chrono::milliseconds d) {
    auto ms = d.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string failures(std::int64_t n) { return std::to_string(n) + (n == 1 ? " failure" : " failures"); }

} // namespace

Status run_checks(std::vector<Check> &checks, Clock &clock, std::chrono::milliseconds timeout,
                  const std::function<void(const Check &, const ProbeResult &)> &on_attempt) {
    const auto start = clock.now();
    const auto deadline = start + timeout;
    std::vector<CheckState> st(checks.size());
    for (std::size_t i = 0; i < checks.size(); ++i) st[i].due = start + checks[i].initial_delay;

    for (;;) {
        // The check due first; ties go to the one listed first, so runs are reproducible.
        std::size_t next = checks.size();
        for (std::size_t i = 0; i < checks.size(); ++i)
            if (!st[i].passed && (next == checks.size() || st[i].due < st[next].due)) next = i;
        if (next == checks.size()) return {};
        if (st[next].due > deadline) {
            // Nothing more can pass in time: name the first check still failing.
            std::size_t i = 0;
            while (st[i].passed) ++i;
            for (std::size_t k = 0; k < checks.size(); ++k)
                if (!st[k].passed && st[k].failures > st[i].failures) i = k;
            return fail(Errc::invalid, "check " + checks[i].name + ": " + checks[i].probe->target() + ": " + st[i].last + " (" +
                                           failures(st[i].failures) + "; not passed within health.timeout " +
                                           seconds(timeout) + ")");
        }
        clock.sleep_until(st[next].due);
        Check &c = checks[next];
        ProbeResult res = c.probe->run(c.timeout);
        CheckState &s = st[next];
        if (on_attempt) on_attempt(c, res);
        if (res.ok) {
            s.passed = true;
            continue;
        }
        s.last = res.detail;
        ++s.failures;
        if (s.failures >= c.failure_threshold)
            return fail(Errc::invalid, "check " + c.name + ": " + c.probe->target() + ": " + s.last + " (" + failures(s.failures) + ")");
        s.due = clock.now() + c.period;
    }
}

} // namespace fjord
