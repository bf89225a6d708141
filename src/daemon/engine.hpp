#pragma once
// The engine: one pipeline of stages (poll -> gates -> fetch -> verify -> render -> plan ->
// guard -> transact), one transition table that decides what follows each stage's event
// (daemon/transitions.hpp), and one recorder that writes each outcome to status, history, the
// journal, metrics and webhooks (daemon/recorder.hpp). An operator's rollback, an image update
// and a drift pass run through the same table. Everything outside the host's files and the
// state dir comes through Ports, so tests drive the engine with fakes.
#include "apply/drift.hpp"
#include "apply/rooted_fs.hpp"
#include "apply/store.hpp"
#include "apply/transaction.hpp"
#include "config/config.hpp"
#include "daemon/attempts.hpp"
#include "daemon/host_secrets.hpp"
#include "daemon/image_automation.hpp"
#include "daemon/recorder.hpp"
#include "daemon/repo.hpp"
#include "daemon/transitions.hpp"
#include "fleet/ls_refs.hpp"
#include "health/check.hpp"
#include "health/probes.hpp"
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace fjord {

class Notifier;

/// What the engine needs from outside the state dir and apply.root, each replaceable.
struct Ports {
    /// The Git remote and cache (real: git_repo()).
    std::function<std::unique_ptr<Repo>(const SourceConfig &, const std::string &cache_dir)> repo;
    /// systemd (real: the system bus or systemd.bus); null when units are not activated.
    std::function<Result<std::unique_ptr<SystemdManager>>(const Config &)> systemd;
    /// podman's API (real: podman.socket); made on first use.
    std::function<std::unique_ptr<Podman>(const Config &)> podman;
    /// A [[check]]'s probe (real: http, tcp, exec, unit, container probes).
    ProbeFactory probes;
    /// The clock health checks run by.
    std::function<Clock &()> clock;
    /// The registries image automation asks (real: Docker Registry v2 over libcurl).
    std::function<Result<std::unique_ptr<RegistryClient>>(const Config &)> registry;
    /// Host facts for templates (host.name, host.ipv4, ...).
    std::function<VarTable()> facts;
    /// Where [[notify]] events go (real: a Notifier's worker thread).
    std::function<std::unique_ptr<Notifier>(const Config &)> notifier;
    /// The gate check's listing of the status repo (real: ls-refs in a sandboxed child).
    std::function<Result<fleet::LsRefsAnswer>(const fleet::LsRefsRequest &)> ls_refs;
    /// Wall-clock seconds, for the wave gate's `after` (real: time()).
    std::function<std::int64_t()> now;

    /// The real ones.
    [[nodiscard]] static Ports real();
};

/// How one sync may deviate from the configured behaviour.
struct SyncOptions {
    bool dry_run = false;
    bool accept_rewrite = false;                 ///< fjordctl sync --accept-rewrite
    std::optional<std::uint32_t> allow_deletions; ///< fjordctl sync --allow-deletions N
    bool retry = false;                          ///< apply a commit marked bad again
    bool manual = false;                         ///< asked for by the operator: refusals are looked at again
    bool skip_waves = false;                     ///< fjordctl sync --skip-waves: this sync ignores fleet.toml's wave gate
};

/// What one round of image automation did.
struct ImageRound {
    bool checked = false;     ///< a container has an update policy, so its registry was asked
    std::size_t deployed = 0; ///< updates applied and marked good
    std::size_t failed = 0;   ///< updates that failed or could not run
    std::size_t errors = 0;   ///< containers whose registry could not be asked
};

/// The engine. Holds the state lock for its whole life.
class Engine {
  public:
    /// Opens state.dir, takes its lock (Errc::busy when another fjord holds it), opens
    /// apply.root, checks the state dir and recovers an unfinished transaction.
    [[nodiscard]] static Result<std::unique_ptr<Engine>> open(const Config &cfg, Ports ports = Ports::real());
    ~Engine();

    /// Polls, and applies the newest commit when it is new, good and allowed.
    [[nodiscard]] SyncResult sync(const SyncOptions &opts);
    /// Compares managed files with the current generation; corrects, reports or ignores drift.
    [[nodiscard]] Result<std::vector<DriftEvent>> drift_pass();
    /// Back to generation `gen` (0 = the good generation before the current one), then pinned.
    [[nodiscard]] SyncResult rollback(std::uint64_t gen);
    /// Image automation: newer tags of the current generation's containers, each deployed.
    [[nodiscard]] ImageRound check_images(bool dry_run);
    /// Stops / restarts automatic applies (persisted).
    [[nodiscard]] Status suspend();
    [[nodiscard]] Status resume();
    /// Replaces the config (SIGHUP); the state dir must stay the same.
    [[nodiscard]] Status reconfigure(const Config &cfg);
    /// fjordctl repair (apply/state_check.hpp): what it would do, or (yes) does it.
    [[nodiscard]] std::string repair(bool yes);
    /// Why this agent cannot apply at all ("" when it can).
    [[nodiscard]] std::string problem() const { return !damaged_.empty() ? damaged_ : recovery_error_; }

    /// Drops what a reconcile loaded while idle.
    void release_memory();
    [[nodiscard]] const AgentStatus &status() const { return rec_.status(); }
    void set_next_poll(std::int64_t t);
    /// fjordd's loop: status.json is not rewritten when only its times changed (Recorder::defer_times).
    void defer_time_saves() { rec_.defer_times(true); }
    /// Writes the times a deferred save left in memory (fjordd stopping).
    void flush_status() { rec_.flush(); }
    /// Asked before a new commit is fetched; a non-empty answer refuses the sync.
    void set_apply_gate(std::function<std::string()> gate) { apply_gate_ = std::move(gate); }
    [[nodiscard]] const Config &config() const { return cfg_; }
    /// Called with a line such as "applying generation 13: 5 files, 2 units" as work starts.
    std::function<void(const std::string &)> on_progress;

  private:
    Engine(Config cfg, Ports ports, Store store, unique_fd lock, RootedFs fs);

    /// The run through the table from `start`, recorded at its end.
    SyncResult run(Run &r);
    /// One stage: what happened, as an event; the table decides what follows.
    Event stage(Stage s, Run &r);
    Event poll_stage(Run &r);
    Event gates_stage(Run &r);
    Event fetch_stage(Run &r);
    Event verify_stage(Run &r);
    Event render_stage(Run &r);
    Event plan_stage(Run &r);
    Event guard_stage(Run &r);
    /// fleet.toml's wave gate of the commit (engine_fleet.cpp): nullopt lets it through, else
    /// wave_waiting or wave_halted (or a failure reading the policy).
    std::optional<Event> wave_gate(Run &r);
    Event transact_stage(Run &r);
    Event rollback_stage(Run &r);
    Event image_stage(Run &r);
    /// What the row asks of the engine's own state (quarantine, backoff, halt, ...).
    void apply_marks(const Transition &t, Run &r);
    /// Why applies are paused, from the store's flags (pinned, suspended, halted); "" if not.
    [[nodiscard]] std::string paused_reason() const;
    /// The plan settings of the config: prune, protect and fjord's own paths.
    [[nodiscard]] PlanOptions plan_options() const;
    /// Applies stop until fjordctl resume or sync --retry (persisted), with the reason.
    void halt(const std::string &why);
    /// In a rollback or image run: the halt the guard's loop detector or a failing restored
    /// generation asks for.
    void halt_if_looping(Event e, Run &r);

    // Helpers of the stages (engine_support.cpp).
    [[nodiscard]] Result<const Generation *> current_generation(std::uint64_t n);
    [[nodiscard]] Result<SystemdManager *> systemd();
    [[nodiscard]] Podman &podman();
    [[nodiscard]] Repo &repo();
    /// The render settings of a run: limits, protect and own paths, secrets, facts.
    [[nodiscard]] RenderOptions render_options_for(const Generation &cur) const;
    /// Renders `commit` for this host; fjord.generation as facts/host_facts.hpp defines it.
    [[nodiscard]] Result<DesiredState> render_commit(const std::string &commit, const Generation &cur,
                                                     const std::function<void(DesiredState &)> &adjust);
    /// The checks of a plan: its [[check]]s, a unit check per unit it starts, the dead-man's switch.
    [[nodiscard]] Result<std::vector<Check>> checks_for(const Plan &plan, const Generation &cur, const std::vector<CheckSpec> &specs,
                                                        SystemdManager *sd, bool units_active, bool source_switch);
    /// Post-rollback hooks after a failed apply that rolled back.
    void after_failed_apply(Run &r);
    /// A generation's checks: kept with it, or rendered again from its commit (format 1).
    [[nodiscard]] Result<std::vector<CheckSpec>> checks_of(const Generation &g);
    [[nodiscard]] ExecCheckContext exec_context(const Generation &g, const std::string &previous_commit, const char *result) const;
    /// After an automatic rollback: the restored generation's checks run again; false when they fail.
    bool recheck_restored(Run &r, const Generation &restored, const Generation &failed, SystemdManager *sd);
    /// The settings a commit's render depends on; a change renders it again.
    [[nodiscard]] std::string render_key() const;
    /// After an apply: the generation's commit kept in the cache, old ones let go, the stat cache.
    void after_good(const Plan &plan, const ApplyReport &report);
    /// A persisted "COMMIT COUNT" flag, one more; returns the count.
    std::uint32_t count_flag(const char *name, const std::string &commit);

    // The state dir's own care (engine_state.cpp).
    [[nodiscard]] Status check_state_dir();
    [[nodiscard]] Status recover_pending();
    void refresh_from_store();
    void rebuild_status();
    void backfill_objects();
    void remove_validate_staging();

    Config cfg_;
    Ports ports_;
    Store store_;
    unique_fd lock_;
    RootedFs fs_;
    Recorder rec_;
    std::unique_ptr<Repo> repo_;
    std::unique_ptr<SystemdManager> systemd_;
    std::unique_ptr<Podman> podman_;
    ImageAutomation images_;
    VarTable facts_;                       ///< host facts, read once a run
    std::optional<Generation> cur_cache_;  ///< the current generation, loaded once a run
    HostSecrets secrets_;                  ///< the host's age identity, as decrypt/seal/digest
    std::function<std::string()> apply_gate_;
    std::string refused_commit_;           ///< remembered refusal: polls do not look at it again
    Backoff backoff_;                      ///< a commit waiting after a transient failure
    std::set<std::string> unrestorable_;   ///< drifted paths whose content was lost: the next apply writes them
    std::string damaged_;                  ///< state.dir damaged beyond rebuilding
    std::string recovery_error_;           ///< the last recovery failure, retried every sync
};

} // namespace fjord
