#pragma once
// The one recorder: every outcome of the engine, as the transition table's row and the run
// that took it, becomes the status (state.dir/status.json, and with it the metrics textfile),
// the journal entry (MESSAGE_ID, COMMIT=, GENERATION=, FJORD_RESULT=), the [[notify]] event and
// the note on the attempted generation's history line. Stages log only the steps on the way
// (a generation marked good, a failed check, a halt) and count their own work.
#include "apply/drift.hpp"
#include "apply/store.hpp"
#include "config/config.hpp"
#include "control/status.hpp"
#include "daemon/run.hpp"
#include <map>
#include <memory>
#include <string>

namespace fjord {

class Notifier;

/// The recorder of one engine.
class Recorder {
  public:
    Recorder(const Config &cfg, Store &store, std::unique_ptr<Notifier> notifier);
    ~Recorder();

    /// Records the end of a run: the row it ended on, and what it found. Returns the result
    /// fjordctl and the daemon's loop see.
    SyncResult record(const Transition &t, const Run &r);
    /// An apply of `commit` as generation `generation` starts (`what`: "applying generation 8: 3
    /// files, 0 units"): the [[notify]] event "applying", a pending commit status.
    void applying(const std::string &commit, std::uint64_t generation, const std::string &what);
    /// Records a drift pass, ended on row `t`: its findings and what was corrected.
    void record_drift(const Transition &t, const std::vector<DriftEvent> &events, std::size_t corrected, std::uint64_t generation);

    [[nodiscard]] AgentStatus &status() { return status_; }
    [[nodiscard]] const AgentStatus &status() const { return status_; }
    /// Writes status.json and the metrics textfile. With times deferred (defer_times), a save
    /// that changes only times (an idle poll: last sync, next poll) writes the metrics alone.
    void save();
    /// fjordd's loop: times-only saves stay in memory, where fjordctl status reads them over the
    /// control socket; flush() writes them when fjordd stops. fjordd --once saves every time.
    void defer_times(bool on) { defer_times_ = on; }
    /// Writes status.json if a save left times unwritten.
    void flush();
    /// A change of times alone that the metrics do not show (next poll): saved, or with times
    /// deferred only noted (no JSON made at all).
    void times_changed();
    /// The status read from status.json at start: saves that change only its times are not fsynced.
    void loaded(const AgentStatus &s);
    /// Commit subject and time of the current generation's commit.
    void note_commit(const std::string &commit, std::string subject, std::int64_t time);
    /// A new config (SIGHUP): new [[notify]] targets, another metrics file.
    void reconfigure(const Config &cfg);

  private:
    /// The report of the commit `r` judged (control/report.hpp) and the status' attempted_*.
    void keep_report(const Transition &t, const Run &r);

    const Config *cfg_;
    Store &store_;
    std::unique_ptr<Notifier> notifier_;
    AgentStatus status_;
    std::string durable_key_; ///< the status last made durable, times left out (save)
    bool defer_times_ = false;
    bool times_pending_ = false; ///< status.json lags the status in its times only
    // The last outcome logged: the same one poll after poll is logged once.
    SyncState last_state_ = SyncState::applied;
    std::string last_message_, last_commit_;
};

} // namespace fjord
