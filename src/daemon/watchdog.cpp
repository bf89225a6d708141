#include "daemon/watchdog.hpp"

#include <systemd/sd-daemon.h>

namespace fjord {

WatchdogFeeder::WatchdogFeeder(std::chrono::microseconds interval, std::chrono::steady_clock::duration ceiling,
                               std::function<void()> send)
    : interval_(interval), ceiling_(ceiling), send_(std::move(send)) {
    if (interval_.count() <= 0) return;
    if (!send_) send_ = [] { sd_notify(0, "WATCHDOG=1"); };
    try {
        thread_ = std::thread([this] { run(); });
    } catch (...) {
        // No thread: the event loop still pings between steps, as before.
    }
}

std::chrono::microseconds WatchdogFeeder::from_environment() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
    return std::chrono::microseconds(usec);
}

WatchdogFeeder::~WatchdogFeeder() {
    {
        std::lock_guard l(m_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

WatchdogFeeder::Busy::Busy(WatchdogFeeder *f) : f_(f) {
    std::lock_guard l(f_->m_);
    if (f_->busy_++ == 0) f_->since_ = std::chrono::steady_clock::now();
    f_->cv_.notify_all();
}

WatchdogFeeder::Busy::~Busy() {
    std::lock_guard l(f_->m_);
    --f_->busy_;
}

void WatchdogFeeder::run() {
    std::unique_lock l(m_);
    auto half = std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval_) / 2;
    while (!stop_) {
        if (busy_ == 0) {
            cv_.wait(l, [this] { return stop_ || busy_ > 0; });
            continue;
        }
        // Fed at once when a step starts (the loop's last ping may be nearly due), then every half interval.
        if (std::chrono::steady_clock::now() - since_ < ceiling_) {
            l.unlock();
            send_();
            l.lock();
        }
        cv_.wait_for(l, half, [this] { return stop_; });
    }
}

} // namespace fjord
