#pragma once
// A clock that only moves when the health runner waits (or a test moves it).
#include "health/check.hpp"
#include <chrono>
#include <vector>

namespace fjord::test {

class FakeClock final : public Clock {
  public:
    time_point t{};
    std::vector<std::chrono::milliseconds> waits; ///< when each wait ended, since the start
    time_point now() override { return t; }
    void sleep_until(time_point until) override {
        if (until > t) t = until;
        waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(t - time_point{}));
    }
};

} // namespace fjord::test
