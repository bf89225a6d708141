#pragma once
// The engine's one transition table: for every stage of a run and every event a stage can end
// with, the next stage and what is recorded. The stages only find out what happened; this
// table alone decides what follows — a commit quarantined, a refusal remembered, a backoff, a
// halt, the outcome the recorder writes to history, status, metrics, the journal and webhooks.
// Read it top to bottom in transitions.cpp; docs/ARCHITECTURE.md draws it.
#include <cstdint>
#include <string_view>
#include <vector>

namespace fjord {

/// Where a run is. A sync walks poll -> gates -> fetch -> verify -> render -> plan -> guard ->
/// transact; an operator's rollback, an image update and a drift pass start at their own stage.
enum class Stage { poll, gates, fetch, verify, render, plan, guard, transact, rollback, image_update, drift, done };

/// What a stage ended with.
enum class Event {
    // poll
    not_configured, state_damaged, recovery_failed, poll_failed, head_found,
    // gates
    suspended, seen, quarantined_before, backing_off, refused_before, prerequisites_block, gates_open,
    // fetch, verify (ancestry and signature) and render, each of which may find the Git cache damaged
    fetch_failed, fetched, cache_damaged,
    history_check_failed, history_rewritten, signature_refused, signature_failed, verified,
    bad_content, renderer_killed, renderer_killed_again, render_failed, rendered,
    // plan
    guardrail, inconsistent, host_in_the_way, plan_failed, dry_run, no_change, planned,
    // guard
    validate_failed, hook_refused, guard_failed, loop_detected, wave_waiting, wave_halted, guard_passed,
    // transact (the checks run inside it, before the transaction commits)
    applied, transient_nothing_changed, transient_rolled_back, checks_failed, restored_fails_too, apply_failed,
    // an operator's rollback
    rolled_back_to, rollback_refused, rollback_failed,
    // image automation
    image_deployed, image_running, image_tag_failed, image_failed,
    // a drift pass
    drift_none, drift_corrected, drift_reported, drift_failed,
};

/// How a run ended, as the operator is told (status's last result, the journal's FJORD_RESULT).
/// waiting: fleet.toml's wave gate holds the newest commit back; the host keeps its generation.
enum class SyncState { up_to_date, applied, dry_run, refused, failed, suspended, not_configured, waiting };

/// What the engine does to its own state when a row is taken, besides recording the outcome.
/// A row may take several (a bit set).
using Marks = unsigned;
namespace mark {
inline constexpr Marks none = 0;
inline constexpr Marks quarantine = 1u << 0;       ///< the commit is marked bad, with the reason, until a newer commit or sync --retry
inline constexpr Marks remember_refused = 1u << 1; ///< polls do not look at the commit again until a newer one or a manual sync
inline constexpr Marks backoff = 1u << 2;          ///< the commit waits, the poll interval doubling up to an hour
inline constexpr Marks count_death = 1u << 3;      ///< one more renderer death on this commit
inline constexpr Marks halt = 1u << 4;             ///< applies stop until fjordctl resume or sync --retry
inline constexpr Marks repair_cache = 1u << 5;     ///< the Git cache is moved aside and cloned again
inline constexpr Marks count_poll_error = 1u << 6; ///< fjord_poll_errors_total{reason}
inline constexpr Marks synced = 1u << 7;           ///< the commit counts as seen: polls stay idle until something changes
inline constexpr Marks good = 1u << 8;             ///< a generation marked good: bad mark, backoff and attempts cleared
inline constexpr Marks pin = 1u << 9;              ///< applies stay paused on the generation the host is on
inline constexpr Marks tag_deployed = 1u << 10;    ///< image automation: the tag is chosen
inline constexpr Marks tag_bad = 1u << 11;         ///< image automation: the tag is never tried again
} // namespace mark

/// One row: at `stage`, `event` leads to `next`; on `done`, `state` is the outcome. `msgid`
/// names the journal's MESSAGE_ID (daemon/log.hpp), `notify` the [[notify]] event.
struct Transition {
    Stage stage;
    Event event;
    Stage next;
    Marks marks;
    SyncState state;      ///< meaningful when next == Stage::done
    const char *msgid;    ///< "applied", "refused", ... (a key of daemon/log.hpp's msgid), or nullptr
    const char *notify;   ///< [[notify]] event, or nullptr
    bool repeat = false;  ///< a continuation of an outcome already told: logged and sent once
};

/// The table, in the order a reader follows a sync.
[[nodiscard]] const std::vector<Transition> &transitions();

/// The row for (stage, event). Every stage's every event has one (tested); an unknown pair is
/// a programming error and ends the run as failed.
[[nodiscard]] const Transition &transition(Stage stage, Event event);

/// Names for logs, tests and docs.
[[nodiscard]] std::string_view stage_name(Stage s);
/// Whether a run that ended in stage `s` judged its commit (verify to transact): its outcome is
/// the commit's attempt, in status and history. The gates only repeat an earlier judgement;
/// poll and fetch failures are the remote's.
[[nodiscard]] bool judges_commit(Stage s);
[[nodiscard]] std::string_view event_name(Event e);
[[nodiscard]] const char *sync_state_name(SyncState s);

/// Rows taken since the process started, by index in transitions(): tests check every row is.
[[nodiscard]] const std::vector<std::uint64_t> &transition_counts();

} // namespace fjord
