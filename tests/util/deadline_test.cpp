#include "util/deadline.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

TEST_CASE("left_ms: 0 once passed, rounded up before, clamped to what poll takes") {
    CHECK(left_ms(steady::now() - 1s) == 0);
    CHECK(left_ms(steady::now()) == 0);
    int soon = left_ms(steady::now() + 1500us);
    CHECK((soon >= 1 && soon <= 2)); // never 0 while time is left
    int later = left_ms(steady::now() + 10s);
    CHECK((later > 9000 && later <= 10000));
    CHECK(left_ms(steady::now() + std::chrono::hours(24 * 365)) == INT_MAX);
}

TEST_CASE("left_us: 0 once passed, rounded up before") {
    CHECK(left_us(steady::now() - 1ms) == 0);
    auto soon = left_us(steady::now() + 1500ns);
    CHECK((soon >= 1 && soon <= 2));
    auto later = left_us(steady::now() + 2s);
    CHECK((later > 1'900'000 && later <= 2'000'000));
}
