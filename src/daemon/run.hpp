#pragma once
// One run of the engine through its transition table: what was asked, and what each stage
// found on the way. Stages fill it; the recorder reads it at the end.
#include "apply/transaction.hpp"
#include "control/report.hpp"
#include "health/check.hpp"
#include "images/image_updates.hpp"
#include "daemon/transitions.hpp"
#include "plan/plan.hpp"
#include "source/git_source.hpp"
#include <optional>
#include <utility>
#include <vector>
#include <string>

namespace fjord {

/// What a run ended with, for fjordctl and the daemon's loop.
struct SyncResult {
    SyncState state = SyncState::failed;
    std::string commit;
    std::uint64_t generation = 0;
    std::string message; ///< one line for humans
    std::string plan;    ///< dry runs: the plan, a line a path
    std::string diff;    ///< dry runs: the plan with content (apply/preview.hpp)
    std::string refusal; ///< dry runs: why an apply of the commit would be refused ("" = it would not)
    bool rolled_back = false; ///< a failure whose generation was applied and then reversed
    const char *msgid = nullptr; ///< the journal MESSAGE_ID of the transition, if any
    /// A continuation of an outcome already told (a quarantined commit, one waiting out its
    /// backoff): logged and sent once, not at every poll.
    bool continuation = false;
};

/// The value that flows through the stages.
struct Run {
    Stage start = Stage::poll;
    // Asked for.
    bool dry_run = false, accept_rewrite = false, retry = false, manual = false, skip_waves = false;
    bool wave_gate_asked = false;           ///< gates: fleet.toml's wave gate was asked this run and is open
    std::optional<std::uint32_t> allow_deletions;
    std::uint64_t rollback_to = 0;          ///< an operator's rollback: the generation (0 = the previous good)
    std::optional<ImageUpdate> image;       ///< an image update: the tag to deploy
    // Found.
    RemoteHead head;                        ///< poll: the remote's head
    std::uint64_t cur_n = 0;                ///< the current generation's number
    const Generation *cur = nullptr;        ///< and the generation (loaded once)
    std::optional<DesiredState> desired;    ///< render; its files move into plan->next at plan
    std::vector<ContainerImageSpec> git_images; ///< render: the containers' images as Git wrote them
    std::optional<Plan> plan;               ///< plan
    std::string plan_text;                  ///< plan: one line a change
    std::string diff_text;                  ///< plan, dry runs: the changes with content
    std::string refusal;                    ///< dry runs: why an apply would be refused (the preview goes on)
    std::vector<Check> checks;              ///< guard: the health checks, built before the host is touched
    SystemdManager *systemd = nullptr;      ///< guard: systemd, when units are activated
    SystemdManager *check_systemd = nullptr;///< guard: systemd for unit checks
    const std::map<std::string, AppliedContainer> *pins = nullptr; ///< rollback, image update: images pinned by digest
    bool rollback = false;                  ///< back to a stored generation: units converge, no hooks
    std::string attempt_message;            ///< the new generation's first history note ("rollback to 3")
    std::optional<ApplyReport> report;      ///< transact, when good
    std::uint64_t attempt = 0;              ///< the generation number the transaction took (0 = none)
    bool rolled_back = false;               ///< that generation was applied, then reversed
    bool cache_repaired = false;            ///< the Git cache was cloned again in this run
    std::string commit;                     ///< the commit the outcome is about
    std::uint64_t generation = 0;           ///< the generation the outcome is about
    std::string message;                    ///< why, or what was done: one line
    Error error;                            ///< the failure a stage met
    std::string history_note;               ///< added to the attempted generation's history line
    std::string history_prefix;             ///< put before it ("web: 1.2.1 -> 1.2.2 (glob:1.2.*)")
    std::vector<std::pair<const char *, std::string>> fields; ///< more journal fields (CONTAINER=, IMAGE=)
    std::string subject;                    ///< the commit's subject, for its report
    std::vector<StageTime> stages;          ///< how long each stage took, in order
    std::vector<StepRecord> steps;          ///< checks and hooks run, with results and bounded output
};

} // namespace fjord
