#pragma once
// The prerequisites as fjordd lives with them: rounds of cheap checks (with the steal window
// between begin_round and end_round), the fdatasync probe on a worker thread so the event
// loop never waits on a slow disk, what changed since it was last logged, and the apply gate
// of prerequisites.mode = block. Results persist in state.dir/prereq.json.
#include "config/config.hpp"
#include "prereq/prereq.hpp"
#include "prereq/report.hpp"
#include "util/result.hpp"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fjord::prereq {

/// A check whose status changed since it was last reported: to be logged once.
struct Change {
    CheckStatus status = CheckStatus::pass; ///< the new status (pass: it passes again)
    std::string label;                      ///< "disk /dev/vda"
    std::string message;                    ///< one line for the log
};

/// fjordd's (and `fjordd --once`'s) view of the prerequisites. Must be made after the state
/// lock is held: it reads and writes state.dir/prereq.json.
class Monitor {
  public:
    explicit Monitor(const Config &cfg, HostRoots roots = {});
    ~Monitor(); ///< cancels a running probe and waits for its thread
    Monitor(const Monitor &) = delete;
    Monitor &operator=(const Monitor &) = delete;

    /// New thresholds, paths and mode. Returns true when checks should run now (mode turned on,
    /// or the judged paths changed).
    bool reconfigure(const Config &cfg);
    [[nodiscard]] PrereqMode mode() const { return mode_; }

    /// A cheap round, part one: the instant checks, and the first sample of the steal window.
    void begin_round();
    /// Part two, prerequisites.steal_window later: steal over the window.
    void end_round();
    /// Starts the fdatasync probe on a worker thread. Returns an fd that turns readable when it
    /// is done (then call finish_probe()).
    [[nodiscard]] Result<int> start_probe();
    [[nodiscard]] bool probe_running() const { return worker_ != nullptr; }
    /// Joins the finished worker and takes its measurements. False when the judged paths changed
    /// while it ran: its results are dropped and the probe should run again.
    bool finish_probe();

    /// For `fjordd --once`: the instant checks; with `measure_slow`, also the steal window and
    /// the probe (blocking) unless state.dir/prereq.json holds results younger than
    /// check_interval / probe_interval, which are used instead. Without it, only fresh saved
    /// ones are shown. Returns true when something slow was measured.
    bool run_once(bool measure_slow);

    [[nodiscard]] std::vector<CheckResult> results() const { return p_.results(); }
    /// True once a cheap round and a probe have both completed (or fresh saved ones were used).
    [[nodiscard]] bool complete() const { return cheap_done_ && probe_done_; }
    /// Status changes since the last call; the first call compares with prereq.json.
    [[nodiscard]] std::vector<Change> take_changes();
    /// "" while applying may go on. mode = block: the failing checks, or "not checked yet"
    /// until complete().
    [[nodiscard]] std::string gate() const;
    /// Writes state.dir/prereq.json.
    [[nodiscard]] Status save() const;

  private:
    struct Worker;

    Prereq p_;
    PrereqMode mode_;
    std::string state_dir_;
    std::vector<std::string> paths_key_;
    std::map<std::string, CheckStatus> reported_;
    std::optional<Saved> saved_;
    bool cheap_done_ = false, probe_done_ = false;
    bool probe_stale_ = false; ///< reconfigured to other paths while the probe ran
    std::unique_ptr<Worker> worker_;
};

} // namespace fjord::prereq
