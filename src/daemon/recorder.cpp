#include "daemon/recorder.hpp"

#include "daemon/log.hpp"
#include "daemon/metrics.hpp"
#include "daemon/notify.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include <ctime>

namespace fjord {

Recorder::Recorder(const Config &cfg, Store &store, std::unique_ptr<Notifier> notifier)
    : cfg_(&cfg), store_(store), notifier_(std::move(notifier)) {}

Recorder::~Recorder() = default;

void Recorder::reconfigure(const Config &cfg) {
    cfg_ = &cfg;
    if (notifier_) notifier_->set_targets(cfg.notify);
}

namespace {

/// The status without its times: what an idle poll does not change.
std::string timeless_key(AgentStatus s) {
    s.last_sync = s.next_poll = s.last_drift = s.last_success = s.last_registry_check = 0;
    return status_to_json(s);
}

} // namespace

void Recorder::loaded(const AgentStatus &s) {
    status_ = s;
    durable_key_ = timeless_key(s);
}

void Recorder::save() {
    // An idle poll changes only times (last sync, next poll). In fjordd's loop such a save
    // writes no status.json: a rename over it costs the disk a write (ext4 flushes a file
    // renamed over another) at every poll, and fjordctl asks the running fjordd anyway. Where
    // written, such a save is not fsynced: a crash may bring back the status before, which
    // differs in times only; a damaged one is rebuilt.
    std::string key = timeless_key(status_);
    bool durable = key != durable_key_;
    if (durable || !defer_times_) {
        auto r = write_file_atomic(store_.path("status.json"), status_to_json(status_) + "\n", 0600, durable);
        if (!r) log_warning("save status: " + r.error().message + ", ignoring");
        if (r && durable) durable_key_ = std::move(key);
        times_pending_ = !r;
    } else {
        times_pending_ = true;
    }
    if (auto m = write_metrics(cfg_->metrics_textfile, cfg_->state.dir, status_); !m)
        log_warning("metrics: " + m.error().message + ", ignoring");
}

void Recorder::flush() {
    if (!times_pending_) return;
    auto r = write_file_atomic(store_.path("status.json"), status_to_json(status_) + "\n", 0600, false);
    if (!r) log_warning("save status: " + r.error().message + ", ignoring");
    times_pending_ = !r;
}

void Recorder::times_changed() {
    if (defer_times_) times_pending_ = true;
    else save();
}

void Recorder::note_commit(const std::string &commit, std::string subject, std::int64_t time) {
    status_.commit = commit;
    status_.commit_subject = std::move(subject);
    status_.commit_time = time;
}

SyncResult Recorder::record(const Transition &t, const Run &r) {
    SyncResult out;
    out.state = t.state;
    out.commit = r.commit;
    out.generation = r.generation;
    out.message = r.message;
    out.plan = r.plan_text;
    out.diff = r.diff_text;
    out.refusal = r.refusal;
    out.rolled_back = r.rolled_back;
    // A failure whose generation was applied and then reversed is a rollback, in the journal
    // and to webhooks.
    const char *msgid = t.msgid == msgid::failed && r.rolled_back ? msgid::rolled_back : t.msgid;
    const char *notify = t.notify && std::string_view(t.notify) == "failed" && r.rolled_back ? "rolled_back" : t.notify;
    out.msgid = msgid;
    out.continuation = t.repeat;

    // The attempted generation's history line says how it ended, beyond the transaction's own
    // outcome (the restored generation's re-check, the image update it was).
    if ((!r.history_note.empty() || !r.history_prefix.empty()) && r.attempt)
        if (auto info = store_.load_info(r.attempt)) {
            if (!r.history_prefix.empty()) info->message = r.history_prefix + ": " + info->message;
            if (!r.history_note.empty()) info->message += (info->message.empty() ? "" : "; ") + r.history_note;
            (void)store_.save_info(*info);
        }

    // The report of the commit judged: beside its generation, or (none made) in the attempts.
    keep_report(t, r);

    // The status fjordctl shows, and with it the metrics.
    if (!r.head.commit.empty()) status_.remote_head = r.head.commit;
    status_.last_sync = std::time(nullptr);
    status_.last_result = sync_state_name(t.state);
    if (t.state == SyncState::failed || t.state == SyncState::refused) status_.last_error = r.message;
    else if (t.state == SyncState::applied || t.state == SyncState::up_to_date) status_.last_error.clear();
    if (t.state == SyncState::applied || t.state == SyncState::up_to_date) status_.last_success = status_.last_sync;
    save();

    // The journal: the same outcome poll after poll (the same message, or a row that continues
    // an outcome already told about the same commit: quarantined, waiting out its backoff) is
    // logged when it starts; the status line keeps saying it. A new message is logged.
    bool repeat = t.state != SyncState::applied && t.state == last_state_ &&
                  (r.message == last_message_ || (t.repeat && !r.commit.empty() && r.commit == last_commit_));
    last_state_ = t.state;
    last_message_ = r.message;
    last_commit_ = r.commit;
    if (!repeat) {
        LogLevel level = t.state == SyncState::failed || t.state == SyncState::refused ? LogLevel::error
                         : t.state == SyncState::up_to_date                            ? LogLevel::debug
                                                                                       : LogLevel::info;
        LogFieldList fields = {{"COMMIT", r.commit},
                               {"GENERATION", r.generation ? std::to_string(r.generation) : ""},
                               {"FJORD_RESULT", sync_state_name(t.state)}};
        fields.insert(fields.end(), r.fields.begin(), r.fields.end());
        log_msg(level, msgid, r.message, fields);
    }

    // [[notify]]: the same refusal or failure poll after poll is sent once.
    if (notify && notifier_)
        notifier_->send(NotifyEvent{notify, r.commit, r.generation, std::time(nullptr), r.message,
                                    t.state != SyncState::applied && !r.rolled_back,
                                    t.stage != Stage::rollback && t.stage != Stage::image_update});
    return out;
}

void Recorder::keep_report(const Transition &t, const Run &r) {
    bool judged = judges_commit(t.stage) && !r.dry_run && !r.commit.empty();
    bool bad = t.state == SyncState::failed || t.state == SyncState::refused;
    Report rep;
    rep.commit = r.commit;
    rep.subject = r.subject;
    rep.time = std::time(nullptr);
    rep.stage = std::string(stage_name(t.stage));
    rep.outcome = r.rolled_back ? "rolled-back" : sync_state_name(t.state);
    rep.reason = bad ? bounded(r.message, max_reason_bytes) : "";
    rep.stages = r.stages;
    rep.steps = r.steps;
    std::string outcome = rep.outcome; // for status, as the sync ended (applied, failed, ...)
    if (r.attempt && (judged || t.stage == Stage::rollback || t.stage == Stage::image_update))
        if (auto info = store_.load_info(r.attempt)) {
            rep.generation = r.attempt;
            rep.outcome = outcome_name(info->outcome); // the generation's own (good, rolled-back, refused)
            if (auto s = write_generation_report(store_.dir(), rep); !s) log_warning("keep the report of generation " + std::to_string(r.attempt) + ": " + s.error().message + ", ignoring");
        }
    // A commit judged bad before it became a generation: an attempt (a failure before the
    // transaction's journal leaves no generation either).
    if (!rep.generation && judged && bad) {
        if (auto next = store_.next_number(); next && *next > 0) rep.after = *next - 1;
        auto log = read_attempts(store_.dir());
        if (!log) log_warning("attempts: " + log.error().message + ", starting them afresh");
        auto s = write_attempts(store_.dir(), add_attempt(log ? std::move(*log) : std::vector<Report>{}, rep));
        if (!s) log_warning("keep the attempt on " + short_id(r.commit) + ": " + s.error().message + ", ignoring");
    }
    // The remote went back to the applied commit (a failed commit reverted by a force-push):
    // the host is on the newest good state again, and the failure is no longer the news.
    if (!judged && t.state == SyncState::up_to_date && !r.head.commit.empty() && r.head.commit == status_.commit &&
        status_.attempted_commit != r.head.commit) {
        status_.attempted_commit = r.head.commit;
        status_.attempted_outcome = sync_state_name(t.state);
        status_.attempted_reason.clear();
        status_.attempted_time = rep.time;
        status_.attempted_generation = status_.generation;
    }
    // The last commit judged, for status: its reason stays until a newer judgement replaces it.
    if (judged) {
        status_.attempted_commit = r.commit;
        status_.attempted_outcome = outcome;
        status_.attempted_reason = rep.reason;
        status_.attempted_time = rep.time;
        status_.attempted_generation = rep.generation;
    }
}

void Recorder::applying(const std::string &commit, std::uint64_t generation, const std::string &what) {
    if (notifier_) notifier_->send(NotifyEvent{"applying", commit, generation, std::time(nullptr), what, false});
}

void Recorder::record_drift(const Transition &t, const std::vector<DriftEvent> &events, std::size_t corrected, std::uint64_t generation) {
    status_.last_drift = std::time(nullptr);
    if (t.notify && !events.empty() && notifier_) {
        std::string s = std::to_string(events.size()) + (events.size() == 1 ? " drifted path" : " drifted paths") +
                        (corrected ? ", " + std::to_string(corrected) + " corrected" : ", none corrected") + ": ";
        for (std::size_t i = 0; i < events.size() && i < 5; ++i) s += (i ? "; " : "") + events[i].path + " (" + events[i].what + ")";
        if (events.size() > 5) s += "; …";
        // Drift left in place is found again every pass: said once until it changes.
        notifier_->send(NotifyEvent{t.notify, status_.commit, generation, std::time(nullptr), s, corrected == 0});
    }
    save();
}

} // namespace fjord
