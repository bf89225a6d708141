// The runner's timing, with scripted probes and a clock that only moves when the runner waits.
#include "health/runner.hpp"
#include "support/fake_clock.hpp"

#include <doctest/doctest.h>
#include <deque>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

using test::FakeClock;

// Answers from a script (the last answer repeats); each attempt costs `cost` of fake time.
class ScriptProbe final : public Probe {
  public:
    ScriptProbe(FakeClock &c, std::deque<bool> script, std::chrono::milliseconds cost = 0ms, int *runs = nullptr)
        : clock_(c), script_(std::move(script)), cost_(cost), runs_(runs) {}
    std::string target() const override { return "fake://x"; }
    ProbeResult run(std::chrono::milliseconds) override {
        clock_.t += cost_;
        if (runs_) ++*runs_;
        bool ok = script_.front();
        if (script_.size() > 1) script_.pop_front();
        return {ok, ok ? "fine" : "status 500, want 200"};
    }

  private:
    FakeClock &clock_;
    std::deque<bool> script_;
    std::chrono::milliseconds cost_;
    int *runs_;
};

Check check(FakeClock &c, std::string name, std::deque<bool> script, std::chrono::milliseconds delay, std::chrono::milliseconds period,
            std::int64_t threshold, int *runs = nullptr) {
    Check k;
    k.name = std::move(name);
    k.probe = std::make_unique<ScriptProbe>(c, std::move(script), 0ms, runs);
    k.initial_delay = delay;
    k.period = period;
    k.failure_threshold = threshold;
    return k;
}

std::chrono::milliseconds elapsed(const FakeClock &c) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(c.t - Clock::time_point{});
}

} // namespace

TEST_CASE("no checks pass at once") {
    FakeClock c;
    std::vector<Check> none;
    CHECK(run_checks(none, c, 60s));
    CHECK(elapsed(c) == 0ms);
}

TEST_CASE("a check passing on its third try passes, after initial_delay and two periods") {
    FakeClock c;
    int runs = 0;
    std::vector<Check> v;
    v.push_back(check(c, "web", {false, false, true}, 5s, 2s, 5, &runs));
    CHECK(run_checks(v, c, 60s));
    CHECK(runs == 3);
    CHECK(elapsed(c) == 9s);
}

TEST_CASE("reaching failure_threshold fails at once, naming the check and its last result") {
    FakeClock c;
    std::vector<Check> v;
    v.push_back(check(c, "web", {false}, 1s, 2s, 3));
    auto s = run_checks(v, c, 120s);
    REQUIRE(!s);
    CHECK(s.error().code == Errc::invalid);
    CHECK(s.error().message == "check web: fake://x: status 500, want 200 (3 failures)");
    CHECK(elapsed(c) == 5s); // 1s + 2 periods, far from the 120 s timeout
}

TEST_CASE("a check that cannot pass within health.timeout fails at the timeout") {
    FakeClock c;
    int runs = 0;
    std::vector<Check> v;
    v.push_back(check(c, "slow", {false}, 0s, 10s, 100, &runs));
    auto s = run_checks(v, c, 25s);
    REQUIRE(!s);
    CHECK(s.error().message == "check slow: fake://x: status 500, want 200 (3 failures; not passed within health.timeout 25s)");
    CHECK(runs == 3); // at 0, 10 and 20 s; the next (30 s) is past the timeout
    CHECK(elapsed(c) == 20s);
}

TEST_CASE("every check must pass; one failing fails the run, the others having passed") {
    FakeClock c;
    int good = 0;
    std::vector<Check> v;
    v.push_back(check(c, "good", {true}, 0s, 1s, 3, &good));
    v.push_back(check(c, "bad", {false}, 0s, 1s, 2));
    auto s = run_checks(v, c, 60s);
    REQUIRE(!s);
    CHECK(s.error().message.rfind("check bad: ", 0) == 0);
    CHECK(good == 1); // a passed check is not run again
}

TEST_CASE("checks interleave by due time") {
    FakeClock c;
    int a = 0, b = 0;
    std::vector<Check> v;
    v.push_back(check(c, "a", {false, false, false, true}, 0s, 1s, 10, &a));
    v.push_back(check(c, "b", {false, true}, 500ms, 3s, 10, &b));
    CHECK(run_checks(v, c, 60s));
    CHECK(a == 4);
    CHECK(b == 2);
    CHECK(elapsed(c) == 3500ms); // a at 0,1,2,3 s; b at 0.5 and 3.5 s
}

TEST_CASE("failures ride on attempt time: a slow probe pushes the next try back") {
    FakeClock c;
    std::vector<Check> v;
    Check k;
    k.name = "slow";
    k.probe = std::make_unique<ScriptProbe>(c, std::deque<bool>{false}, 4s);
    k.period = 2s;
    k.failure_threshold = 2;
    v.push_back(std::move(k));
    auto s = run_checks(v, c, 60s);
    REQUIRE(!s);
    CHECK(elapsed(c) == 10s); // try at 0 (ends 4), next due 6, ends 10
}

TEST_CASE("on_attempt sees each attempt, the failed ones and the one that passed (show lists checks with results)") {
    FakeClock c;
    std::vector<Check> v;
    v.push_back(check(c, "web", {false, true}, 0s, 1s, 3));
    std::vector<bool> seen;
    CHECK(run_checks(v, c, 60s, [&](const Check &k, const ProbeResult &r) {
        CHECK(k.name == "web");
        seen.push_back(r.ok);
    }));
    CHECK(seen == std::vector<bool>{false, true});
}
