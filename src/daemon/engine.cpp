// The engine's frame: opening it, the loop that walks a run through the transition table, the
// marks a row asks for, and the operations the daemon and fjordctl call. The stages are in
// engine_stages.cpp (poll to plan) and engine_apply.cpp (guard, transact, rollback, images).
#include "daemon/engine.hpp"

#include "config/own_paths.hpp"
#include "daemon/attempts.hpp"
#include "daemon/log.hpp"
#include "daemon/metrics.hpp"
#include "daemon/notify.hpp"
#include "facts/host_facts.hpp"
#include "util/deadline.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include <chrono>
#include <ctime>
#include <malloc.h>
#include <unistd.h>

namespace fjord {

Engine::Engine(Config cfg, Ports ports, Store store, unique_fd lock, RootedFs fs)
    : cfg_(std::move(cfg)), ports_(std::move(ports)), store_(std::move(store)), lock_(std::move(lock)), fs_(std::move(fs)),
      rec_(cfg_, store_, ports_.notifier ? ports_.notifier(cfg_) : nullptr) {}

Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::open(const Config &cfg, Ports ports) {
    auto store = Store::open(cfg.state.dir);
    if (!store) return fail(std::move(store.error()));
    auto lock = store->lock();
    if (!lock && lock.error().code == Errc::busy)
        return fail(Errc::busy, lock.error().message + "; when it is the running fjordd, `fjordctl sync` asks it to sync now "
                                                        "(`fjordctl sync --dry-run` to preview)");
    if (!lock) return fail(std::move(lock.error()));
    auto fs = RootedFs::open(cfg.apply.root);
    if (!fs) return fail(std::move(fs.error()));
    std::unique_ptr<Engine> e(new Engine(cfg, std::move(ports), std::move(*store), std::move(*lock), std::move(*fs)));
    e->repo_ = e->ports_.repo(e->cfg_.source, e->store_.path("repo"));
    bool rebuild = false;
    if (auto old = read_status(cfg.state.dir)) e->rec_.loaded(*old);
    else if (::access(e->store_.path("status.json").c_str(), F_OK) == 0) {
        // A damaged status file costs nothing that matters: moved aside, rebuilt below from
        // the generations (counters restart from what history shows).
        std::string broken = e->store_.path("status.json.broken");
        (void)::rename(e->store_.path("status.json").c_str(), broken.c_str());
        log_warning("state: " + old.error().message + "; moved to " + broken + ", status rebuilt from the generations");
        rebuild = true;
    }
    e->remove_validate_staging();
    e->secrets_.load(identity_path(e->cfg_)); // before recovery, which may have to write secrets back
    e->images_.load(cfg.state.dir);

    // state.dir's own files: what can be rebuilt is, and said; what cannot is named, with the
    // command that repairs it, and fjordd stays up refusing to apply (never a fresh start).
    FJORD_TRY(e->check_state_dir());
    if (!e->damaged_.empty()) return e;

    // The generations in state.dir describe one apply.root; applied to another, fjord would
    // overwrite and delete files it never adopted there.
    auto cur = e->store_.current();
    if (!cur) return fail(std::move(cur.error()));
    std::string applied_root = e->store_.applied_root();
    if (*cur != 0 && !applied_root.empty() && applied_root != cfg.apply.root)
        return fail(Errc::invalid, cfg.file + ": apply.root is " + cfg.apply.root + ", but state.dir " + cfg.state.dir +
                                       " holds generations applied to " + applied_root +
                                       "; use a fresh state.dir for a new root (or put apply.root back)");
    if (applied_root != cfg.apply.root) FJORD_TRY(e->store_.set_applied_root(cfg.apply.root));

    // A recovery that fails (podman down, a path it cannot write) is retried at every sync;
    // fjordd stays up to say why rather than exit and be restarted into the same failure.
    if (auto s = e->recover_pending(); !s) {
        e->recovery_error_ = s.error().message;
        log_error(s.error().message + "; retried at every poll");
    }
    e->refresh_from_store();
    if (rebuild) e->rebuild_status();
    e->backfill_objects();
    auto now = e->store_.current();
    auto g = now && *now ? e->current_generation(*now) : Result<const Generation *>(nullptr);
    e->images_.settle(g ? *g : nullptr);
    e->rec_.status().suspended = e->paused_reason();
    return e;
}

SyncResult Engine::run(Run &r) {
    Stage s = r.start;
    const Transition *last = nullptr;
    while (s != Stage::done) {
        auto started = std::chrono::steady_clock::now();
        Event e = stage(s, r);
        r.stages.push_back({std::string(stage_name(s)),
                            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()});
        last = &transition(s, e);
        log_debug(std::string(stage_name(s)) + " -> " + std::string(event_name(e)));
        apply_marks(*last, r);
        s = last->next;
    }
    if (last && judges_commit(last->stage) && !r.dry_run && !r.commit.empty())
        if (auto ci = repo().commit_info(r.commit)) r.subject = ci->subject;
    return rec_.record(*last, r);
}

Event Engine::stage(Stage s, Run &r) {
    switch (s) {
    case Stage::poll: return poll_stage(r);
    case Stage::gates: return gates_stage(r);
    case Stage::fetch: return fetch_stage(r);
    case Stage::verify: return verify_stage(r);
    case Stage::render: return render_stage(r);
    case Stage::plan: return plan_stage(r);
    case Stage::guard: return guard_stage(r);
    case Stage::transact: return transact_stage(r);
    case Stage::rollback: return rollback_stage(r);
    case Stage::image_update: return image_stage(r);
    case Stage::drift:
    case Stage::done: break;
    }
    return Event::apply_failed; // no stage: the table's unknown row ends the run as failed
}

void Engine::apply_marks(const Transition &t, Run &r) {
    AgentStatus &st = rec_.status();
    Marks m = t.marks;
    auto why = [&] { return r.error.message.empty() ? r.message : r.error.message; };
    if (m & mark::count_poll_error) count_poll_error(st, r.error.code);
    if (m & mark::repair_cache) {
        r.cache_repaired = true;
        repo().reset(why());
    }
    if (r.dry_run) return; // a preview changes nothing of fjord's own state either
    if (m & mark::count_death)
        // The renderer died by a limit or a signal: tried again with backoff, and the second
        // death on the same commit quarantines it (the stage says renderer_killed_again).
        backoff_ = next_backoff(backoff_, r.commit, steady_seconds(), cfg_.source.poll_interval.count() / 1000, r.message);
    if (m & mark::quarantine) (void)store_.mark_bad(r.commit, why());
    if (m & mark::remember_refused) refused_commit_ = r.commit;
    if (m & mark::backoff) {
        backoff_ = next_backoff(backoff_, r.commit, steady_seconds(), cfg_.source.poll_interval.count() / 1000, r.message);
        r.message += " (tried again in " + std::to_string(backoff_.delay) + " s)";
    }
    if (m & mark::halt) halt(r.message);
    if (m & mark::synced) {
        // A commit that reached the host (or needed nothing) ends any wait on earlier ones.
        refused_commit_.clear();
        backoff_ = {};
        (void)store_.clear_flag("render_deaths");
        st.synced_commit = r.commit;
        st.render_key = render_key();
        st.facts_key = facts_key(facts_);
        images_.follow(r.git_images);
    }
    if (m & mark::good) {
        (void)store_.clear_bad(r.commit);
        st.generation = r.generation;
        if (auto ci = repo().commit_info(r.commit)) rec_.note_commit(r.commit, ci->subject, ci->time);
        else rec_.note_commit(r.commit, "", 0);
    }
    if (m & mark::pin) {
        auto now = store_.current();
        std::uint64_t at = now ? *now : r.cur_n;
        (void)store_.pin(at);
        st.suspended = paused_reason();
        st.render_key = render_key();
    }
    if ((m & mark::tag_deployed) && r.image) {
        images_.end(*r.image, true, false);
        st.render_key = render_key(); // the next poll of the same commit stays idle
    }
    if ((m & mark::tag_bad) && r.image) images_.end(*r.image, false, true);
}

std::string Engine::paused_reason() const {
    if (std::string pin = store_.flag("pinned"); !pin.empty())
        return "pinned to generation " + pin + " by fjordctl rollback; fjordctl resume to follow Git again";
    if (!store_.flag("suspended").empty()) return "suspended by fjordctl suspend";
    return store_.flag("halted");
}

PlanOptions Engine::plan_options() const {
    return PlanOptions{cfg_.apply.prune, cfg_.apply.protect, own_host_paths(cfg_)};
}

void Engine::halt(const std::string &why) {
    std::string h = why.rfind("halted: ", 0) == 0 ? why : "halted: " + why + "; fix the host, then fjordctl resume or fjordctl sync --retry";
    if (auto s = store_.set_flag("halted", h); !s) log_warning("halt: " + s.error().message + ", ignoring");
    rec_.status().suspended = h;
    log_msg(LogLevel::error, msgid::failed, "applies halted until fjordctl resume or fjordctl sync --retry: " + h);
}

void Engine::halt_if_looping(Event e, Run &r) {
    // An operator's rollback and an image update run the guard and transact stages inside
    // their own: the rows that halt a sync halt them too (without quarantining the commit).
    if (r.dry_run) return;
    if (e == Event::loop_detected || e == Event::restored_fails_too) halt(r.message.empty() ? r.error.message : r.message);
}

SyncResult Engine::sync(const SyncOptions &opts) {
    Run r;
    r.start = Stage::poll;
    r.dry_run = opts.dry_run;
    r.accept_rewrite = opts.accept_rewrite;
    r.allow_deletions = opts.allow_deletions;
    r.retry = opts.retry;
    r.manual = opts.manual;
    r.skip_waves = opts.skip_waves;
    SyncResult res = run(r);
    // On the newest commit (applied, or nothing to do): no rollout holds this host back.
    if (res.state == SyncState::applied || res.state == SyncState::up_to_date) {
        auto &st = rec_.status();
        st.rollout.clear();
        st.rollout_commit.clear();
        st.rollout_reason.clear();
    }
    return res;
}

SyncResult Engine::rollback(std::uint64_t gen) {
    Run r;
    r.start = Stage::rollback;
    r.rollback_to = gen;
    r.manual = true;
    return run(r);
}

Status Engine::suspend() {
    FJORD_TRY(store_.suspend());
    if (rec_.status().suspended.empty()) rec_.status().suspended = paused_reason();
    rec_.save();
    return {};
}

Status Engine::resume() {
    FJORD_TRY(store_.resume());
    AgentStatus &st = rec_.status();
    st.suspended = damaged_; // damage is not lifted by resume: fjordctl repair is
    // A resumed host looks at the newest commit again even if it saw it while pinned.
    st.synced_commit = st.commit;
    rec_.save();
    return {};
}

Status Engine::reconfigure(const Config &cfg) {
    if (cfg.state.dir != cfg_.state.dir) return fail(Errc::invalid, "state.dir cannot change while fjordd runs (restart it instead)");
    if (cfg.apply.root != cfg_.apply.root) {
        if (auto cur = store_.current(); !cur || *cur != 0)
            return fail(Errc::invalid, "apply.root cannot change while state.dir holds generations applied to " + cfg_.apply.root +
                                           " (use a fresh state.dir for a new root)");
        auto fs = RootedFs::open(cfg.apply.root);
        if (!fs) return fail(std::move(fs.error()));
        fs_ = std::move(*fs);
    }
    bool source_changed = cfg.source.url != cfg_.source.url || cfg.source.branch != cfg_.source.branch ||
                          cfg.source.tag != cfg_.source.tag || cfg.source.ssh_key != cfg_.source.ssh_key ||
                          cfg.source.known_hosts != cfg_.source.known_hosts || cfg.source.token_file != cfg_.source.token_file;
    bool identity_changed = identity_path(cfg) != identity_path(cfg_);
    if (cfg.podman.socket != cfg_.podman.socket) podman_.reset();
    cfg_ = cfg;
    rec_.reconfigure(cfg_);
    if (source_changed) repo_ = ports_.repo(cfg_.source, store_.path("repo"));
    if (identity_changed) secrets_.load(identity_path(cfg_));
    refused_commit_.clear();
    return {};
}

void Engine::release_memory() {
    cur_cache_.reset();
    store_.release_memory();
    ::malloc_trim(0);
}

void Engine::set_next_poll(std::int64_t t) {
    rec_.status().next_poll = t;
    rec_.times_changed();
}

ImageRound Engine::check_images(bool dry_run) {
    ImageRound round;
    if (!images_.on() || cfg_.source.url.empty() || !damaged_.empty()) return round;
    if (auto s = recover_pending(); !s) {
        log_error("image automation: " + s.error().message);
        ++round.failed;
        return round;
    }
    auto cur_n = store_.current();
    if (!cur_n || *cur_n == 0) return round;
    auto cur = current_generation(*cur_n);
    if (!cur) {
        log_error("image automation: " + cur.error().message);
        ++round.failed;
        return round;
    }
    // Hosts without an update policy never render nor ask a registry here.
    bool any = false;
    for (const auto &[name, c] : (*cur)->containers) any = any || !c.spec.update.empty();
    if (!any) return round;
    const std::string commit = (*cur)->info.commit;
    facts_ = ports_.facts();
    std::vector<ContainerImageSpec> git;
    auto desired = render_commit(commit, **cur, [&](DesiredState &d) { git = images_.use_chosen(d); });
    if (!desired) {
        log_error("image automation: commit " + short_id(commit) + ": " + desired.error().message);
        ++round.failed;
        return round;
    }
    round.checked = true;
    std::int64_t now = std::time(nullptr);
    ImageCheck check;
    auto client = ports_.registry(cfg_);
    if (client) check = images_.check(git, **client, now, dry_run);
    else check.errors.push_back(std::move(client.error()));
    rec_.status().last_registry_check = now;
    round.errors = check.errors.size();
    images_.note_errors(check.errors, rec_.status());
    if (check.updates.empty()) {
        rec_.save();
        return round;
    }
    std::string paused = rec_.status().suspended;
    if (paused.empty() && apply_gate_) paused = apply_gate_();
    for (const auto &u : check.updates) {
        if (dry_run || !paused.empty()) {
            // Found again at every check while paused: logged at debug level only.
            log_msg(dry_run ? LogLevel::info : LogLevel::debug, nullptr,
                    "image update " + u.summary() + (dry_run ? ": a dry run deploys nothing" : ": not deployed, " + paused));
            continue;
        }
        Run r;
        r.start = Stage::image_update;
        r.image = u;
        r.commit = commit;
        SyncResult res = run(r);
        if (res.state == SyncState::applied || res.state == SyncState::up_to_date) ++round.deployed;
        else ++round.failed;
    }
    rec_.save();
    return round;
}

} // namespace fjord
