#pragma once
// [[notify]] targets: one request per event (applying, applied, rolled_back, failed, drift,
// refused) to every target that asked for it, in the target's format (daemon/notify_format.hpp),
// sent by a worker thread from a bounded queue, so that a down or slow receiver never delays a
// sync.
//
// A thread rather than sd-event + curl multi: a sync runs inside one event-loop callback and
// can take minutes (health checks), `fjordd --once` and `fjordctl rollback` have no loop at all,
// and a notification should leave while the sync that caused it is still checking. One thread,
// blocking libcurl with a timeout and an abort callback, keeps the logic small and testable.
#include "config/config.hpp"
#include "daemon/notify_format.hpp"
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fjord {

/// How one request went.
struct SendResult {
    bool ok = false;
    bool retry = true;   ///< worth another attempt (network error, 5xx, 429); a 4xx is not
    std::string detail;  ///< "HTTP 500", "Connection refused"
};

/// Sends one request; `aborted` turns true when the sender must give up at once (shutdown).
using NotifySender = std::function<SendResult(const NotifyRequest &req, std::chrono::milliseconds timeout,
                                              const std::function<bool()> &aborted)>;

/// The real sender: libcurl, http and https only, no redirects, a 2xx is success. The token is
/// read from req.token_file now, so a rotated token needs no reload; a missing, empty or
/// multi-line token file fails this delivery (logged, never retried) and nothing else. The
/// token never appears in the result's detail.
[[nodiscard]] SendResult curl_send(const NotifyRequest &req, std::chrono::milliseconds timeout,
                                   const std::function<bool()> &aborted);

/// The token in a token file's text: one line, its trailing newline and spaces dropped.
[[nodiscard]] Result<std::string> token_from_file_text(std::string_view text, const std::string &path);

/// The limits: small fixed numbers, so a bad receiver costs little.
struct NotifyOptions {
    std::size_t queue_limit = 64;              ///< deliveries waiting; the oldest is dropped beyond
    int attempts = 4;                          ///< per delivery, the first included
    std::chrono::milliseconds timeout{5'000};  ///< per attempt
    std::chrono::milliseconds backoff{1'000};  ///< before the second attempt, doubling after
    std::chrono::milliseconds grace{2'000};    ///< at shutdown, for what is pending; then dropped
};

/// The queue and its worker thread (started on the first event a target wants).
class Notifier {
  public:
    explicit Notifier(std::vector<NotifyConfig> targets, NotifyOptions opts = {}, NotifySender sender = curl_send,
                      std::string host = "");
    /// Gives pending deliveries opts.grace, aborts the one in flight after it, drops the rest.
    ~Notifier();
    Notifier(const Notifier &) = delete;
    Notifier &operator=(const Notifier &) = delete;

    /// Queues `e` for every target subscribed to e.event; never blocks on the network.
    void send(const NotifyEvent &e);
    /// New targets ([[notify]] after a reload); queued deliveries keep their old request.
    void set_targets(std::vector<NotifyConfig> targets);

    /// Counters, for tests and logs.
    [[nodiscard]] std::size_t delivered() const { return delivered_; }
    [[nodiscard]] std::size_t dropped() const { return dropped_; }
    [[nodiscard]] std::size_t failed() const { return failed_; }
    /// Deliveries waiting or in flight.
    [[nodiscard]] std::size_t pending() const;

  private:
    using clock = std::chrono::steady_clock;
    struct Delivery {
        NotifyRequest req;
        std::string event;
        int attempt = 0; ///< attempts made
        clock::time_point due;
    };
    void run();

    NotifyOptions opts_;
    NotifySender sender_;
    std::string host_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<NotifyConfig> targets_;
    std::deque<Delivery> queue_;
    std::string last_dedupe_; ///< event + summary of the last deduped event sent
    std::uint64_t txn_ = 0;   ///< deliveries made: a part of Matrix transaction IDs
    bool stopping_ = false, in_flight_ = false;
    clock::time_point deadline_;
    std::atomic<bool> abort_{false};
    std::atomic<std::size_t> delivered_{0}, dropped_{0}, failed_{0};
    std::thread worker_;
};

} // namespace fjord
