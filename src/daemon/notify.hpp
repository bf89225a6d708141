#pragma once
// [[notify]] webhooks: one JSON POST per event (applied, rolled_back, failed, drift, refused)
// to every target that asked for it, sent by a worker thread from a bounded queue, so that a
// down or slow receiver never delays a sync.
//
// A thread rather than sd-event + curl multi: a sync runs inside one event-loop callback and
// can take minutes (health checks), `fjordd --once` and `fjordctl rollback` have no loop at all,
// and a notification should leave while the sync that caused it is still checking. One thread,
// blocking libcurl with a timeout and an abort callback, keeps the logic small and testable.
#include "config/config.hpp"
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

/// One thing that happened, as receivers see it. No file contents, no secrets: the summary is
/// the sync's one-line message (paths and reasons).
struct NotifyEvent {
    std::string event;        ///< applied | rolled_back | failed | drift | refused
    std::string commit;
    std::uint64_t generation = 0;
    std::int64_t time = 0;    ///< seconds since the epoch
    std::string summary;
    bool dedupe = false;      ///< skip when it repeats the previous deduped event (a failing poll every minute)
};

/// The JSON body: {"host", "event", "commit", "generation", "time" (RFC 3339, UTC), "summary"}.
[[nodiscard]] std::string notify_payload(const NotifyEvent &e, const std::string &host);

/// How one POST went.
struct SendResult {
    bool ok = false;
    bool retry = true;   ///< worth another attempt (network error, 5xx, 429); a 4xx is not
    std::string detail;  ///< "HTTP 500", "Connection refused"
};

/// Sends one POST; `aborted` turns true when the sender must give up at once (shutdown).
using NotifySender = std::function<SendResult(const std::string &url, const std::string &body,
                                              std::chrono::milliseconds timeout, const std::function<bool()> &aborted)>;

/// The real sender: libcurl, http and https only, no redirects, a 2xx is success.
[[nodiscard]] SendResult curl_send(const std::string &url, const std::string &body, std::chrono::milliseconds timeout,
                                   const std::function<bool()> &aborted);

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
    /// New targets ([[notify]] after a reload); queued deliveries keep their old URL.
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
        std::string url, event, body;
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
    bool stopping_ = false, in_flight_ = false;
    clock::time_point deadline_;
    std::atomic<bool> abort_{false};
    std::atomic<std::size_t> delivered_{0}, dropped_{0}, failed_{0};
    std::thread worker_;
};

} // namespace fjord
