#pragma once
// Fleet reports (issue 20): fjordd's side of [report]. A worker thread pushes the host's report
// and marker (sandbox/report_isolated.hpp) whenever what it says changes (commit, state, wave,
// generation) and at each heartbeat.
//
// A thread, as for [[notify]]: a push may take up to report.timeout, and the sync loop must
// never wait on it (a status repository that is down may not block or delay an apply);
// `fjordd --once` has no event loop to collect a child from. The loop only hands over the
// newest status (update(), a copy under a mutex) and goes on. A failed push is retried 30 s
// later, doubling up to the heartbeat, and logged once per failure streak and once when it
// works again.
#include "config/config.hpp"
#include "control/status.hpp"
#include "fleet/report.hpp"
#include "sandbox/report_isolated.hpp"
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace fjord {

/// What the reporter keeps in state.dir/fleet-report.json across restarts.
struct ReportState {
    std::string marker_ref;             ///< the marker ref the last push wrote
    std::vector<fleet::Judged> judged;  ///< newest first
    std::uint64_t push_failures_total = 0;
    std::int64_t last_push = 0;         ///< unix time of the last push that worked (0 = none)
};
[[nodiscard]] Result<ReportState> read_report_state(const std::string &state_dir);
[[nodiscard]] Status write_report_state(const std::string &state_dir, const ReportState &s);

/// Makes report.ssh_key (ed25519, with ssh-keygen, in a 0700 folder) when it does not exist,
/// as the package makes the deploy key; the answer says so ("" when the key was there).
[[nodiscard]] Result<std::string> ensure_report_key(const ReportConfig &cfg);

/// The report a status stands for (health and prerequisites read from the state dir).
[[nodiscard]] fleet::HostReport build_report(const ReportConfig &cfg, const std::string &state_dir, const AgentStatus &s,
                                             const std::vector<fleet::Judged> &judged, std::int64_t now);
/// The judged list with the status's newest judged commit added in front (a repeat replaces it).
[[nodiscard]] std::vector<fleet::Judged> add_judged(std::vector<fleet::Judged> judged, const AgentStatus &s);

class Reporter {
  public:
    using clock = std::chrono::steady_clock;
    /// One push; the real one runs push_report_isolated on the report cache.
    using Pusher = std::function<Result<std::string>(const ReportPush &)>;

    /// nullptr when [report] has no url. Opens the report cache (state.dir/report.git).
    [[nodiscard]] static Result<std::unique_ptr<Reporter>> start(const Config &cfg);
    /// With a pusher of the caller's (tests) and a first backoff.
    Reporter(const Config &cfg, ReportState state, Pusher push, std::chrono::milliseconds first_backoff);
    /// Ends the thread; a push in flight is waited for (at most report.timeout).
    ~Reporter();
    Reporter(const Reporter &) = delete;
    Reporter &operator=(const Reporter &) = delete;

    /// The newest status; never blocks on the network.
    void update(const AgentStatus &s);
    /// fjordd --once: one attempt for the newest status unless it was pushed already, then
    /// returns (at most report.timeout later).
    void finish();

  private:
    struct Key {
        std::string commit, state, wave;
        std::uint64_t generation = 0;
        friend bool operator==(const Key &, const Key &) = default;
    };
    static Key key_of(const AgentStatus &s);
    void run();
    void attempt(std::unique_lock<std::mutex> &lk, const AgentStatus &s);

    Config cfg_;
    Pusher push_;
    std::chrono::milliseconds first_backoff_;
    std::mutex mu_;
    std::condition_variable cv_;
    ReportState state_;
    std::optional<AgentStatus> latest_;
    std::optional<Key> pushed_;
    clock::time_point heartbeat_at_{}, retry_at_{};
    std::chrono::milliseconds backoff_{0};
    std::uint64_t streak_ = 0; ///< failed attempts in a row
    bool stop_ = false, force_ = false, busy_ = false;
    std::thread worker_;
};

} // namespace fjord
