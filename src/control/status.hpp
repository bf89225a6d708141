#pragma once
// The status of an agent, as fjordd keeps it (state.dir/status.json, rewritten after every
// change) and as fjordctl shows it: through the control socket while fjordd runs, read from the
// file when it does not. The daemon's recorder writes it; fjordctl and the metrics read it.
#include "util/result.hpp"
#include <cstdint>
#include <map>
#include <string>

namespace fjord {

/// The status fjordctl shows; persisted in state.dir/status.json after every change.
struct AgentStatus {
    std::uint64_t generation = 0;
    std::string commit;        ///< commit of the current generation
    std::string synced_commit; ///< the newest commit this host has dealt with
    std::int64_t last_sync = 0, next_poll = 0, last_drift = 0;
    std::string last_result;   ///< sync_state_name
    std::string last_error;
    std::string suspended;     ///< "" or why (suspended, pinned to generation N, halted, damaged)
    std::size_t managed = 0;   ///< paths the current generation manages
    std::size_t drifted = 0;   ///< paths found drifted by the last pass
    std::string note;          ///< e.g. unit files not activated
    std::string render_key;    ///< the settings synced_commit was rendered with; a change re-renders
    std::string facts_key;     ///< the host facts it was rendered with (facts/host_facts.hpp); a change re-renders
    std::int64_t commit_time = 0; ///< committer time of `commit` (0 = not known)
    std::string commit_subject;   ///< first line of `commit`'s message
    std::int64_t last_success = 0; ///< when a sync last ended applied or up to date
    double apply_seconds = 0;      ///< how long the last apply took (changes and health checks)
    // Counters for the metrics textfile; persisted here, so they survive restarts.
    std::uint64_t changes_total = 0;           ///< paths written, removed or restored by applies
    std::uint64_t rollbacks_total = 0;         ///< generations reversed (failed checks or apply)
    std::uint64_t drift_corrections_total = 0; ///< drifted paths put back
    std::map<std::string, std::uint64_t> poll_errors; ///< reason (poll_error_reason) -> count
    // Image automation (daemon/image_automation.hpp).
    std::string last_image_update;  ///< the last image update and its end
    std::string registry_error;     ///< why the last registry check failed ("" = every registry answered)
    std::int64_t last_registry_check = 0;
    std::uint64_t image_updates_total = 0;   ///< image updates applied and marked good
    std::uint64_t registry_errors_total = 0; ///< containers whose registry could not be asked, per check
    std::uint64_t renders_total = 0;         ///< renders of a commit in the sandboxed child
    std::uint64_t partial_renders_total = 0; ///< of those, renders of only what changed since the current generation
    // How far Git is ahead: the remote's head at the last poll, and the last commit fjord judged
    // (applied, failed, refused) with why. A failure's reason stays until a newer commit is judged.
    std::string remote_head;
    std::string attempted_commit;
    std::string attempted_outcome;  ///< "applied", "up-to-date", "failed", "rolled-back", "refused" ("" = none yet)
    std::string attempted_reason;   ///< the whole reason of a failure or refusal (bounded), "" otherwise
    std::int64_t attempted_time = 0;
    std::uint64_t attempted_generation = 0; ///< the generation it became (0 = none)
    // Fleet rollouts (fleet/, issue 20): the engine's gate writes these, reports read them.
    std::string wave;           ///< this host's wave for remote_head ("" = no rollout policy applies)
    std::string rollout;        ///< "" (not held back) | "waiting" | "halted"
    std::string rollout_commit; ///< the commit held back
    std::string rollout_reason; ///< why, e.g. "wave early needs canary 3/5 good (web3: failed)"
};

/// Reads the status a running or stopped fjordd last saved.
[[nodiscard]] Result<AgentStatus> read_status(const std::string &state_dir);
/// The JSON of a status, as status.json holds it and `fjordctl status --json` shows it, sealed by
/// a checksum over the rest (read_status refuses a file whose content does not match it).
[[nodiscard]] std::string status_to_json(const AgentStatus &s);

} // namespace fjord
