#include "daemon/watchdog.hpp"

#include <atomic>
#include <doctest/doctest.h>

using namespace fjord;
using namespace std::chrono_literals;

TEST_CASE("the watchdog is fed while busy, not while idle, and not past the ceiling") {
    std::atomic<int> sent{0};
    {
        WatchdogFeeder f(20ms, 300ms, [&] { ++sent; });
        std::this_thread::sleep_for(60ms);
        CHECK(sent == 0); // idle: the event loop pings by itself
        {
            auto busy = f.busy();
            std::this_thread::sleep_for(200ms);
        }
        int during = sent;
        CHECK(during >= 8); // every 10 ms for 200 ms, give or take a loaded machine
        std::this_thread::sleep_for(60ms);
        CHECK(sent <= during + 1); // stops when the step ends
        auto busy = f.busy();
        std::this_thread::sleep_for(600ms); // past the 300 ms ceiling: a hung step is left to systemd
        int capped = sent;
        std::this_thread::sleep_for(100ms);
        CHECK(sent == capped);
    }
    WatchdogFeeder off(0us, 1h, [&] { ++sent; }); // no WATCHDOG_USEC: no thread at all
    int before = sent;
    { auto busy = off.busy(); std::this_thread::sleep_for(30ms); }
    CHECK(sent == before);
}
