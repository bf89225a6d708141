#include "daemon/transitions.hpp"

#include "daemon/log.hpp"

namespace fjord {
namespace {

using S = Stage;
using E = Event;
using R = SyncState;

// clang-format off
// stage            event                            next          mark                  outcome            journal              notify
const std::vector<Transition> table = {
    // Before anything is asked of the remote.
    {S::poll,         E::not_configured,           S::done,      mark::none,              R::not_configured, nullptr,             nullptr},
    {S::poll,         E::state_damaged,            S::done,      mark::none,              R::failed,         msgid::failed,       "failed"},
    {S::poll,         E::recovery_failed,          S::done,      mark::none,              R::failed,         msgid::failed,       "failed"},
    {S::poll,         E::poll_failed,              S::done,      mark::count_poll_error,  R::failed,         msgid::failed,       "failed"},
    {S::poll,         E::head_found,               S::gates,     mark::none,              R::failed,         nullptr,             nullptr},

    // What may stop a commit before it is fetched. The idle path ends here.
    {S::gates,        E::suspended,                S::done,      mark::none,              R::suspended,      nullptr,             nullptr, true},
    {S::gates,        E::seen,                     S::done,      mark::none,              R::up_to_date,     nullptr,             nullptr, true},
    {S::gates,        E::quarantined_before,       S::done,      mark::none,              R::failed,         msgid::failed,       "failed", true},
    {S::gates,        E::backing_off,              S::done,      mark::none,              R::failed,         msgid::failed,       "failed", true},
    {S::gates,        E::refused_before,           S::done,      mark::none,              R::refused,        msgid::refused,      "refused", true},
    {S::gates,        E::prerequisites_block,      S::done,      mark::none,              R::refused,        msgid::refused,      "refused", true},
    {S::gates,        E::wave_waiting,             S::done,      mark::none,              R::waiting,        nullptr,             nullptr, true},
    {S::gates,        E::gates_open,               S::fetch,     mark::none,              R::failed,         nullptr,             nullptr},

    // The commit into the Git cache. A damaged cache is cloned again and the step runs again
    // (once a run: a second damage is a failure, tried at the next poll).
    {S::fetch,        E::fetch_failed,             S::done,      mark::count_poll_error,  R::failed,         msgid::failed,       "failed"},
    {S::fetch,        E::cache_damaged,            S::fetch,     mark::repair_cache,      R::failed,         nullptr,             nullptr},
    {S::fetch,        E::fetched,                  S::verify,    mark::none,              R::failed,         nullptr,             nullptr},

    // Is it the history we follow, signed by whom we trust?
    {S::verify,       E::cache_damaged,            S::fetch,     mark::repair_cache,      R::failed,         nullptr,             nullptr},
    {S::verify,       E::history_check_failed,     S::done,      mark::none,              R::failed,         msgid::failed,       "failed"},
    {S::verify,       E::history_rewritten,        S::done,      mark::remember_refused,  R::refused,        msgid::refused,      "refused"},
    {S::verify,       E::signature_refused,        S::done,      mark::remember_refused,  R::refused,        msgid::refused,      "refused"},
    {S::verify,       E::signature_failed,         S::done,      mark::none,              R::failed,         msgid::failed,       "failed"},
    {S::verify,       E::verified,                 S::render,    mark::none,              R::failed,         nullptr,             nullptr},

    // The host's desired state, rendered in a sandboxed child. Bad content is the commit's;
    // a child killed by a limit twice on one commit makes it the commit's too.
    {S::render,       E::cache_damaged,            S::fetch,     mark::repair_cache,      R::failed,         nullptr,             nullptr},
    {S::render,       E::bad_content,              S::done,      mark::quarantine,        R::failed,         msgid::failed,       "failed"},
    {S::render,       E::renderer_killed,          S::done,      mark::count_death,       R::failed,         msgid::failed,       "failed"},
    {S::render,       E::renderer_killed_again,    S::done,      mark::quarantine,        R::failed,         msgid::failed,       "failed"},
    {S::render,       E::render_failed,            S::done,      mark::backoff,           R::failed,         msgid::failed,       "failed"},
    {S::render,       E::rendered,                 S::plan,      mark::none,              R::failed,         nullptr,             nullptr},

    // The plan against the current generation and the live host, with its guardrails.
    {S::plan,         E::guardrail,                S::done,      mark::remember_refused,  R::refused,        msgid::refused,      "refused"},
    {S::plan,         E::inconsistent,             S::done,      mark::quarantine,        R::failed,         msgid::failed,       "failed"},
    {S::plan,         E::host_in_the_way,          S::done,      mark::backoff,           R::refused,        msgid::refused,      "refused"},
    {S::plan,         E::plan_failed,              S::done,      mark::backoff,           R::failed,         msgid::failed,       "failed"},
    {S::plan,         E::dry_run,                  S::done,      mark::none,              R::dry_run,        nullptr,             nullptr},
    {S::plan,         E::no_change,                S::done,      mark::synced,            R::up_to_date,     nullptr,             nullptr},
    {S::plan,         E::planned,                  S::guard,     mark::none,              R::failed,         nullptr,             nullptr},

    // Before the journal: validate commands, pre-apply hooks, and the loop detector (the
    // persisted attempt counter: attempts that never finished, or kept rolling back).
    {S::guard,        E::inconsistent,             S::done,      mark::quarantine,        R::failed,         msgid::failed,       "failed"},
    {S::guard,        E::validate_failed,          S::done,      mark::quarantine,        R::refused,        msgid::refused,      "refused"},
    {S::guard,        E::guard_failed,             S::done,      mark::backoff,           R::failed,         msgid::failed,       "failed"},
    {S::guard,        E::hook_refused,             S::done,      mark::none,              R::refused,        msgid::refused,      "refused", true},
    {S::guard,        E::loop_detected,            S::done,      mark::halt,              R::refused,        msgid::refused,      "refused"},
    // fleet.toml's waves: an earlier wave not yet good (the host keeps its generation and asks
    // again at the next poll), or a failure there that halts the commit for this host for good.
    {S::guard,        E::wave_waiting,             S::done,      mark::none,              R::waiting,        nullptr,             nullptr, true},
    {S::guard,        E::wave_halted,              S::done,      mark::remember_refused,  R::refused,        msgid::refused,      "refused", true},
    {S::guard,        E::guard_passed,             S::transact,  mark::none,              R::failed,         nullptr,             nullptr},

    // The transaction and, inside it, the health checks: good, or reversed whole.
    {S::transact,     E::applied,                  S::done,      mark::good | mark::synced, R::applied,        msgid::applied,      "applied"},
    {S::transact,     E::transient_nothing_changed,S::done,      mark::backoff,           R::failed,         msgid::failed,       "failed"},
    {S::transact,     E::transient_rolled_back,    S::done,      mark::backoff,           R::failed,         msgid::rolled_back,  "rolled_back"},
    {S::transact,     E::checks_failed,            S::done,      mark::quarantine,        R::failed,         msgid::rolled_back,  "rolled_back"},
    {S::transact,     E::restored_fails_too,       S::done,      mark::quarantine | mark::halt, R::failed,         msgid::rolled_back,  "rolled_back"},
    {S::transact,     E::apply_failed,             S::done,      mark::quarantine,        R::failed,         msgid::failed,       "failed"},
    {S::transact,     E::host_in_the_way,          S::done,      mark::backoff,           R::refused,        msgid::refused,      "refused"},
    {S::transact,     E::cache_damaged,            S::done,      mark::repair_cache,      R::failed,         msgid::failed,       "failed"},

    // fjordctl rollback: the target generation, its units converged and its checks run; the
    // host stays pinned either way.
    {S::rollback,     E::rolled_back_to,           S::done,      mark::pin,               R::applied,        msgid::rolled_back,  "rolled_back"},
    {S::rollback,     E::rollback_refused,         S::done,      mark::none,              R::failed,         nullptr,             "failed"},
    {S::rollback,     E::rollback_failed,          S::done,      mark::pin,               R::failed,         msgid::failed,       "failed"},

    // Image automation: a newer tag of the current commit's container, as its own generation.
    {S::image_update, E::image_deployed,           S::done,      mark::tag_deployed,      R::applied,        msgid::image_update, "applied"},
    {S::image_update, E::image_running,            S::done,      mark::tag_deployed,      R::up_to_date,     msgid::image_update, nullptr},
    {S::image_update, E::image_tag_failed,         S::done,      mark::tag_bad,           R::failed,         msgid::image_update, "rolled_back"},
    {S::image_update, E::image_failed,             S::done,      mark::none,              R::failed,         msgid::image_update, "failed"},

    // The drift pass.
    {S::drift,        E::drift_none,               S::done,      mark::none,              R::up_to_date,     nullptr,             nullptr},
    {S::drift,        E::drift_corrected,          S::done,      mark::none,              R::applied,        msgid::drift,        "drift"},
    {S::drift,        E::drift_reported,           S::done,      mark::none,              R::failed,         msgid::drift,        "drift", true},
    {S::drift,        E::drift_failed,             S::done,      mark::none,              R::failed,         msgid::drift,        nullptr, true},
};
// clang-format on

std::vector<std::uint64_t> &counts() {
    static std::vector<std::uint64_t> c(table.size());
    return c;
}

} // namespace

const std::vector<Transition> &transitions() { return table; }

const Transition &transition(Stage stage, Event event) {
    for (std::size_t i = 0; i < table.size(); ++i)
        if (table[i].stage == stage && table[i].event == event) {
            ++counts()[i];
            return table[i];
        }
    // A stage ended with an event it has no row for: a programming error, ended as a failure.
    static const Transition unknown{Stage::done, Event::apply_failed, Stage::done, mark::none, SyncState::failed, msgid::failed, "failed"};
    return unknown;
}

const std::vector<std::uint64_t> &transition_counts() { return counts(); }

std::string_view stage_name(Stage s) {
    switch (s) {
    case S::poll: return "poll";
    case S::gates: return "gates";
    case S::fetch: return "fetch";
    case S::verify: return "verify";
    case S::render: return "render";
    case S::plan: return "plan";
    case S::guard: return "guard";
    case S::transact: return "transact";
    case S::rollback: return "rollback";
    case S::image_update: return "image_update";
    case S::drift: return "drift";
    case S::done: return "done";
    }
    return "?";
}

bool judges_commit(Stage s) {
    return s == S::verify || s == S::render || s == S::plan || s == S::guard || s == S::transact;
}

std::string_view event_name(Event e) {
    switch (e) {
#define FJORD_EVENT(x) case E::x: return #x;
    FJORD_EVENT(not_configured) FJORD_EVENT(state_damaged) FJORD_EVENT(recovery_failed) FJORD_EVENT(poll_failed)
    FJORD_EVENT(head_found) FJORD_EVENT(suspended) FJORD_EVENT(seen) FJORD_EVENT(quarantined_before)
    FJORD_EVENT(backing_off) FJORD_EVENT(refused_before) FJORD_EVENT(prerequisites_block) FJORD_EVENT(gates_open)
    FJORD_EVENT(fetch_failed) FJORD_EVENT(fetched) FJORD_EVENT(cache_damaged) FJORD_EVENT(history_check_failed)
    FJORD_EVENT(history_rewritten) FJORD_EVENT(signature_refused) FJORD_EVENT(signature_failed) FJORD_EVENT(verified)
    FJORD_EVENT(bad_content) FJORD_EVENT(renderer_killed) FJORD_EVENT(renderer_killed_again) FJORD_EVENT(render_failed)
    FJORD_EVENT(rendered) FJORD_EVENT(guardrail) FJORD_EVENT(inconsistent) FJORD_EVENT(host_in_the_way)
    FJORD_EVENT(plan_failed) FJORD_EVENT(dry_run) FJORD_EVENT(no_change) FJORD_EVENT(planned) FJORD_EVENT(validate_failed)
    FJORD_EVENT(hook_refused) FJORD_EVENT(guard_failed) FJORD_EVENT(loop_detected) FJORD_EVENT(wave_waiting) FJORD_EVENT(wave_halted) FJORD_EVENT(guard_passed) FJORD_EVENT(applied)
    FJORD_EVENT(transient_nothing_changed) FJORD_EVENT(transient_rolled_back) FJORD_EVENT(checks_failed)
    FJORD_EVENT(restored_fails_too) FJORD_EVENT(apply_failed) FJORD_EVENT(rolled_back_to) FJORD_EVENT(rollback_refused)
    FJORD_EVENT(rollback_failed) FJORD_EVENT(image_deployed) FJORD_EVENT(image_running) FJORD_EVENT(image_tag_failed)
    FJORD_EVENT(image_failed) FJORD_EVENT(drift_none) FJORD_EVENT(drift_corrected) FJORD_EVENT(drift_reported)
    FJORD_EVENT(drift_failed)
#undef FJORD_EVENT
    }
    return "?";
}

const char *sync_state_name(SyncState s) {
    switch (s) {
    case R::up_to_date: return "up-to-date";
    case R::applied: return "applied";
    case R::dry_run: return "dry-run";
    case R::refused: return "refused";
    case R::failed: return "failed";
    case R::suspended: return "suspended";
    case R::not_configured: return "not-configured";
    case R::waiting: return "waiting";
    }
    return "?";
}

} // namespace fjord
