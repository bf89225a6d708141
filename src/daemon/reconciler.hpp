#pragma once
// One reconcile, end to end: poll the remote, fetch when it moved, refuse rewritten history,
// render, plan, apply the plan as one transaction; plus the drift pass, manual rollback and the
// persisted status that fjordctl reads. Used by fjordd's loop and by `fjordd --once`.
#include "apply/drift.hpp"
#include "host/podman.hpp"
#include "apply/rooted_fs.hpp"
#include "apply/store.hpp"
#include "apply/transaction.hpp"
#include "health/probes.hpp"
#include "config/config.hpp"
#include "manifest/render.hpp"
#include "daemon/attempts.hpp"
#include "daemon/hooks.hpp"
#include "images/image_updates.hpp"
#include "secrets/age_identity.hpp"
#include "source/git_source.hpp"
#include <functional>
#include <map>
#include <memory>
#include <optional>

namespace fjord {

class Notifier;
struct NotifyEvent;

/// How one sync may deviate from the configured behaviour.
struct SyncOptions {
    bool dry_run = false;
    bool accept_rewrite = false;                 ///< fjordctl sync --accept-rewrite
    std::optional<std::uint32_t> allow_deletions; ///< fjordctl sync --allow-deletions N
    bool retry = false;                          ///< apply a commit marked bad again
    bool manual = false;                         ///< asked for by the operator: refusals are looked at again
    bool rollback = false;                       ///< back to a stored generation: its units are converged
};

/// What a sync ended with.
enum class SyncState { up_to_date, applied, dry_run, refused, failed, suspended, not_configured };

struct SyncResult {
    SyncState state = SyncState::failed;
    std::string commit;
    std::uint64_t generation = 0;
    std::string message; ///< one line for humans
    std::string plan;    ///< dry runs: the plan, a line a path
    bool rolled_back = false; ///< a failure whose generation was applied and then reversed
    const char *msgid = nullptr; ///< the journal MESSAGE_ID of the transition, if any
    /// A continuation of a failure already reported for this commit (it waits out its backoff,
    /// or it is quarantined): the daemon's log says it once, not at every poll.
    bool continuation = false;
};

/// Logs a sync's outcome once, with MESSAGE_ID, COMMIT= and GENERATION= for the journal.
void log_sync_result(const SyncResult &r, bool with_plan = true);

[[nodiscard]] const char *sync_state_name(SyncState s);

/// The status fjordctl shows; persisted in state.dir/status.json after every change.
struct AgentStatus {
    std::uint64_t generation = 0;
    std::string commit;        ///< commit of the current generation
    std::string synced_commit; ///< the newest commit this host has dealt with
    std::int64_t last_sync = 0, next_poll = 0, last_drift = 0;
    std::string last_result;   ///< sync_state_name
    std::string last_error;
    std::string suspended;     ///< "" or why (suspended, pinned to generation N)
    std::size_t managed = 0;   ///< paths the current generation manages
    std::size_t drifted = 0;   ///< paths found drifted by the last pass
    std::string note;          ///< e.g. unit files not activated, hooks not run by this version
    std::string render_key;    ///< the settings synced_commit was rendered with; a change re-renders
    std::string facts_key;     ///< the host facts it was rendered with (daemon/facts.hpp); a change re-renders
    std::int64_t commit_time = 0; ///< committer time of `commit` (0 = not known)
    std::string commit_subject;   ///< first line of `commit`'s message
    std::int64_t last_success = 0; ///< when a sync last ended applied or up to date
    double apply_seconds = 0;      ///< how long the last apply took (changes and health checks)
    // Counters for the metrics textfile; persisted here, so they survive restarts.
    std::uint64_t changes_total = 0;           ///< paths written, removed or restored by applies
    std::uint64_t rollbacks_total = 0;         ///< generations reversed (failed checks or apply)
    std::uint64_t drift_corrections_total = 0; ///< drifted paths put back
    std::map<std::string, std::uint64_t> poll_errors; ///< reason (poll_error_reason) -> count
    // Image automation (daemon/image_automation.cpp).
    std::string last_image_update;  ///< the last image update and its end: "web: 1.2.1 -> 1.2.2 (glob:1.2.*): generation 5, good"
    std::string registry_error;     ///< why the last registry check failed ("" = every registry answered)
    std::int64_t last_registry_check = 0;
    std::uint64_t image_updates_total = 0;   ///< image updates applied and marked good
    std::uint64_t registry_errors_total = 0; ///< containers whose registry could not be asked, per check
    std::uint64_t renders_total = 0;         ///< renders of a commit in the sandboxed child
};

/// What one round of image automation did.
struct ImageRound {
    bool checked = false;     ///< a container has an update policy, so its registry was asked
    std::size_t deployed = 0; ///< updates applied and marked good
    std::size_t failed = 0;   ///< updates that failed (rolled back: the tag is marked bad) or could not run
    std::size_t errors = 0;   ///< containers whose registry could not be asked
};

/// The [[notify]] event a sync's outcome is (applied, rolled_back, failed, refused), if any.
[[nodiscard]] std::optional<NotifyEvent> sync_event(const SyncResult &r);
/// The drift event of a pass's findings (paths and what changed, never contents), if any.
[[nodiscard]] std::optional<NotifyEvent> drift_event(const std::vector<DriftEvent> &events, std::size_t corrected,
                                                     std::uint64_t generation, const std::string &commit);

/// The reconcile engine. Holds the state lock for its whole life.
class Reconciler {
  public:
    /// Opens state.dir, takes its lock (Errc::busy when another fjord holds it), opens apply.root
    /// and the Git cache. Recovers an unfinished transaction first.
    [[nodiscard]] static Result<std::unique_ptr<Reconciler>> open(const Config &cfg);

    /// Polls, and applies the newest commit when it is new, good and allowed.
    [[nodiscard]] SyncResult sync(const SyncOptions &opts);
    /// Compares managed files with the current generation; corrects, reports or ignores drift
    /// per apply.drift. Returns the events found.
    [[nodiscard]] Result<std::vector<DriftEvent>> drift_pass();
    /// Back to generation `gen` (0 = the good generation before the current one), then pinned.
    [[nodiscard]] SyncResult rollback(std::uint64_t gen);
    /// Stops / restarts automatic applies (persisted).
    [[nodiscard]] Status suspend();
    [[nodiscard]] Status resume();
    /// Replaces the config (SIGHUP); the state dir must stay the same.
    [[nodiscard]] Status reconfigure(const Config &cfg);
    /// Image automation: asks the registries about the current generation's containers that
    /// have an update policy, and deploys each newer tag found as its own generation, under the
    /// same checks and rollback as a commit; a tag that fails is marked bad for good. A dry run
    /// only logs what it would deploy.
    [[nodiscard]] ImageRound check_images(bool dry_run);

    /// fjordctl repair: without `yes`, what is damaged in state.dir and what repair would do;
    /// with it, does that (apply/state_check.hpp) and recovers. Returns lines for the operator.
    [[nodiscard]] std::string repair(bool yes);
    /// Why this agent cannot apply at all ("" when it can): state.dir damaged beyond what fjord
    /// rebuilds, or an unfinished transaction whose recovery failed.
    [[nodiscard]] std::string problem() const { return !damaged_.empty() ? damaged_ : recovery_error_; }

    /// Drops what a reconcile loaded (the current generation, Git pack windows) while idle.
    void release_memory();

    [[nodiscard]] const AgentStatus &status() const { return status_; }
    void set_next_poll(std::int64_t t);
    /// Asked before a new commit is fetched and applied; a non-empty answer refuses the sync
    /// with that reason (prerequisites.mode = block while a host check fails).
    void set_apply_gate(std::function<std::string()> gate) { apply_gate_ = std::move(gate); }
    [[nodiscard]] const Config &config() const { return cfg_; }
    /// Called with a line such as "applying generation 13: 5 files, 2 units" as work starts.
    std::function<void(const std::string &)> on_progress;

    ~Reconciler();

  private:
    Reconciler(Config cfg, Store store, unique_fd lock, RootedFs fs);
    SyncResult finish(SyncResult r);
    void save_status();
    [[nodiscard]] Status ensure_source();
    /// Moves a damaged Git cache aside (STATE/repo.broken, one log line); the next
    /// ensure_source() starts a new one.
    void move_cache_aside(const std::string &why);
    /// The Git cache failed an integrity check: moved aside, started afresh, `head` fetched
    /// into it, kept generations' commits kept again. At most once a sync.
    [[nodiscard]] Status repair_cache(const std::string &why, const RemoteHead &head);
    bool cache_repaired_ = false; ///< this sync already cloned the cache again
    /// A commit whose last try failed for a transient reason, and when it may be tried again.
    Backoff backoff_;
    /// Counts a death of the render child on `commit` (persisted); returns the count.
    std::uint32_t note_render_death(const std::string &commit);
    /// Counts failed fetches of `commit` in a row (persisted); returns the count.
    std::uint32_t note_fetch_failure(const std::string &commit);
    /// Rolls back an unfinished transaction, if the journal names one (a damaged journal: every
    /// path of the current generation is put back).
    [[nodiscard]] Status recover_pending();
    /// Checks state.dir's consistency (apply/state_check.hpp); sets damaged_ when it cannot
    /// be rebuilt.
    [[nodiscard]] Status check_state_dir();
    /// A damaged status.json: the status rebuilt from the store and the generations' history.
    void rebuild_status();
    /// Copies the current generation's content into the object store when an older fjord
    /// wrote it (its content then lived only in the Git cache).
    void backfill_objects();
    std::string damaged_;        ///< state.dir damaged beyond rebuilding: why, and the repair
    std::set<std::string> unrestorable_; ///< drifted paths whose content was lost: the next apply writes them
    std::string recovery_error_; ///< the last recovery failure, retried at every sync
    /// Generation and commit in the status from `current`, the store's truth.
    void refresh_status_from_store();
    /// The systemd manager when units must be activated (null when apply.root is not "/" and
    /// no systemd.bus is set: unit files are then written but not activated).
    [[nodiscard]] Result<SystemdManager *> systemd();
    /// Generation n, loaded at most once until release_memory().
    [[nodiscard]] Result<const Generation *> current_generation(std::uint64_t n);
    [[nodiscard]] Result<ApplyReport> apply_desired(const DesiredState &desired, const Generation &cur,
                                                    const SyncOptions &opts, const std::string &message,
                                                    std::string *plan_text,
                                                    const std::map<std::string, AppliedContainer> *pins = nullptr);
    /// podman.socket's API; made on first use, and asked only when containers are involved.
    [[nodiscard]] Podman &podman();

    /// One render of the commit with these options (in a sandboxed child: sandbox/isolated.hpp).
    using RenderFn = std::function<Result<DesiredState>(const RenderOptions &)>;
    /// Renders for this host with facts_, fjord.generation as daemon/facts.cpp defines it.
    /// `adjust` runs on every render result (image automation's chosen tags).
    [[nodiscard]] Result<DesiredState> render_commit(const RenderFn &render_once, RenderOptions ro, const Generation &cur,
                                                     const std::function<void(DesiredState &)> &adjust = nullptr);

    Config cfg_;
    VarTable facts_; ///< host facts, read once per sync
    Store store_;
    unique_fd lock_;
    RootedFs fs_;
    std::unique_ptr<GitSource> source_;
    std::optional<Generation> cur_cache_; ///< the current generation, loaded once per reconcile
    std::unique_ptr<SystemdManager> systemd_;
    std::unique_ptr<Podman> podman_;
    AgentStatus status_;
    std::string refused_commit_; ///< a commit refused by a guardrail: not re-rendered every poll
    std::function<std::string()> apply_gate_;
    std::unique_ptr<Notifier> notifier_; ///< [[notify]] webhooks, sent from its own thread
    bool rolled_back_ = false;           ///< the last apply_desired's generation was applied, then reversed
    std::uint64_t attempt_gen_ = 0;      ///< the generation number the last apply_desired took (0 = none)
    /// The history entry the last apply_desired saved (refused, rolled back or good); nullopt
    /// when it stopped before saving one (a pre-apply hook, podman down before the journal).
    [[nodiscard]] std::optional<GenerationInfo> attempted() const;
    /// Sends `e` to the [[notify]] targets that want it (never blocks).
    void notify(const std::optional<NotifyEvent> &e);
    /// Commit time and subject of the current generation's commit, from the Git cache.
    void note_commit(const std::string &commit);
    std::shared_ptr<const AgeIdentity> identity_; ///< secrets.identity; null when it could not be had
    std::string identity_error_;                  ///< why not: the reason .age files are refused
    /// Loads secrets.identity, creating it on the first start; logs once when that fails.
    void load_identity();
    /// Decrypts .age content with the host identity (render and every write of a secret).
    [[nodiscard]] std::function<Result<std::string>(std::string_view, const std::string &)> decryptor() const;
    /// The identity-keyed digest of a secret's plaintext, for FileSpec::secret_mac and drift.
    [[nodiscard]] SecretDigest digester() const;
    /// Gives a transaction the identity: decrypt secrets, seal originals adopted at their paths.
    void with_secrets(ApplyContext &ctx) const;

    // Loop guards (daemon/recheck.cpp).
    /// Counts an apply attempt on `commit` (persisted before the host is touched); when the
    /// counter trips, halts applies and returns why ("" when the attempt may go ahead).
    [[nodiscard]] std::string start_attempt(const std::string &commit);
    /// Forgets the attempts: a generation was marked good, or an attempt ended without a crash.
    void clear_attempts();
    /// Stops automatic applies (persisted) until fjordctl resume or fjordctl sync --retry.
    void halt(const std::string &why);
    /// Lifts a halt and forgets the attempts.
    void clear_halt();
    /// A generation's [[check]]s: kept with it, or rendered again from its commit for a
    /// generation written before checks were kept.
    [[nodiscard]] Result<std::vector<CheckSpec>> checks_of(const Generation &g);
    /// How exec checks of generation `g` run: FJORD_* variables as hooks get them, output
    /// hidden when `g` has secret files.
    [[nodiscard]] ExecCheckContext exec_context(const Generation &g, const std::string &previous_commit, const char *result) const;
    /// Runs the restored generation's checks ([[check]]s rendered again from its commit, and
    /// its units that the rollback from `failed` started). Errc::invalid when they fail; any
    /// other error means they could not be run (the render sandbox failed, say).
    [[nodiscard]] Status recheck_restored(const Generation &restored, const Generation &failed, SystemdManager *sd);
    // Commands around an apply (daemon/hooks.cpp).
    /// Before the journal: validate commands of the files `plan` writes (a failure records the
    /// generation as refused, Errc::invalid), then pre-apply hooks (Errc::refused).
    [[nodiscard]] Status guard_apply(const DesiredState &desired, const Generation &cur, Plan &plan);
    /// After apply_plan failed: post-rollback hooks, when the generation was rolled back.
    void after_failed_apply(const DesiredState &desired, const Generation &cur, const Plan &plan);
    [[nodiscard]] HookEnv hook_env(const DesiredState &desired, const Generation &cur, const Plan &plan, const char *result) const;
    bool guard_refused_ = false; ///< the last guard_apply refused before anything was touched
    /// Removes STATE/validate, which a crash during validate_files may have left (open()).
    void remove_validate_staging();

    /// After an automatic rollback: rechecks `restored`, records the outcome in `failed`'s
    /// history entry and the journal, halts applies when it fails; returns the one-line outcome.
    std::string after_rollback(const Generation &restored, const Generation &failed, SystemdManager *sd);

    // Image automation (daemon/image_automation.cpp).
    std::unique_ptr<ImageUpdateStore> images_;  ///< STATE_DIR/images; null when it cannot be read
    std::unique_ptr<RegistryClient> registry_;  ///< made on the first registry check
    std::string registry_logged_;               ///< the registry errors last logged (once per change)
    /// Loads STATE_DIR/images once, at start.
    void load_images();
    /// At start, after recovery: a deploy recorded as pending becomes the chosen tag when the
    /// current generation runs its image, and is dropped otherwise.
    void settle_images();
    /// The tags automation chose, as text: part of the render key, so a new choice re-renders.
    [[nodiscard]] std::string images_key() const;
    /// The render key of the settings and chosen tags now (status_.render_key holds the last one).
    [[nodiscard]] std::string current_render_key() const;
    /// Gives each container with an update policy the tag automation chose for it; returns the
    /// specs as Git wrote them.
    std::vector<ContainerImageSpec> use_chosen_images(DesiredState &d) const;
    /// After a commit applied (or changed nothing): the store follows Git's specs.
    void images_follow(const std::vector<ContainerImageSpec> &git);
    /// Renders `commit` for this host as a sync does, `adjust` applied.
    [[nodiscard]] Result<DesiredState> render_current(const std::string &commit, const Generation &cur,
                                                      const std::function<void(DesiredState &)> &adjust);
    /// Logs registry errors when they differ from the last ones, and keeps them in the status.
    void note_registry_errors(const std::vector<Error> &errors);
    /// Deploys one update as a generation of `commit`; marks the tag deployed or bad.
    SyncResult deploy_image_update(const ImageUpdate &u, const std::string &commit);
};

/// Reads the status a running or stopped fjordd last saved.
[[nodiscard]] Result<AgentStatus> read_status(const std::string &state_dir);
/// Where the host identity lives: secrets.identity, except that its default follows a state.dir
/// moved elsewhere (STATE_DIR/age/identity), as the control socket does, so that tests and
/// side-by-side agents never share /var/lib/fjord.
[[nodiscard]] std::string identity_path(const Config &cfg);
[[nodiscard]] std::string status_to_json(const AgentStatus &s);

} // namespace fjord
