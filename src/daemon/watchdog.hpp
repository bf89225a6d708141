#pragma once
// Feeds systemd's watchdog while the event loop is busy in one long step. A sync runs inside
// one event-loop callback: fetch (up to 30 min), render (10 min), pulls, hooks (up to 1 h
// each), health checks (health.timeout). The loop cannot ping WatchdogSec= meanwhile, so a
// thread sends WATCHDOG=1 every WatchdogSec/2 while a Busy guard lives — up to a ceiling
// (watchdog_ceiling), after which it stops, so a sync that truly hangs still gets fjordd
// restarted by systemd.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace fjord {

/// The longest a busy step is fed: longer than any bounded sync with a few long hooks
/// (poll 1 min + fetch 30 min + render 10 min + pulls + hooks + health.timeout).
inline constexpr std::chrono::hours watchdog_ceiling{4};

/// The pinger thread. Without WATCHDOG_USEC (not under systemd's watchdog) it does nothing.
class WatchdogFeeder {
  public:
    /// `send` sends one "WATCHDOG=1" (sd_notify by default; tests pass their own).
    explicit WatchdogFeeder(std::chrono::microseconds interval, std::chrono::steady_clock::duration ceiling = watchdog_ceiling,
                            std::function<void()> send = nullptr);
    /// The interval from WATCHDOG_USEC (sd_watchdog_enabled), zero when there is none.
    [[nodiscard]] static std::chrono::microseconds from_environment();
    ~WatchdogFeeder();
    WatchdogFeeder(const WatchdogFeeder &) = delete;
    WatchdogFeeder &operator=(const WatchdogFeeder &) = delete;

    /// While it lives, the watchdog is fed (nested guards are fine).
    class Busy {
      public:
        explicit Busy(WatchdogFeeder *f);
        ~Busy();
        Busy(const Busy &) = delete;
        Busy &operator=(const Busy &) = delete;

      private:
        WatchdogFeeder *f_;
    };
    [[nodiscard]] Busy busy() { return Busy(this); }

  private:
    void run();
    std::chrono::microseconds interval_;
    std::chrono::steady_clock::duration ceiling_;
    std::function<void()> send_;
    std::mutex m_;
    std::condition_variable cv_;
    int busy_ = 0;
    std::chrono::steady_clock::time_point since_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace fjord
