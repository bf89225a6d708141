#include "daemon/reconciler.hpp"

#include "apply/state_check.hpp"
#include "apply/transaction.hpp"
#include "daemon/attempts.hpp"
#include "daemon/facts.hpp"
#include "sandbox/isolated.hpp"
#include "daemon/log.hpp"
#include "daemon/own_paths.hpp"
#include "daemon/metrics.hpp"
#include "daemon/notify.hpp"
#include "daemon/progress.hpp"
#include "manifest/validate.hpp"
#include "health/probes.hpp"
#include "health/runner.hpp"
#include "manifest/render.hpp"
#include "secrets/age.hpp"
#include "source/signature.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/host.hpp"
#include <chrono>
#include <filesystem>
#include <limits>
#include <malloc.h>
#include <ctime>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace fjord {
namespace {

std::string short_id(const std::string &c) { return c.substr(0, 12); }

std::int64_t steady_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Debug-level timings of a sync's phases, to see where a slow sync spends its time.
struct PhaseTimer {
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
    void mark(const char *phase) {
        auto now = std::chrono::steady_clock::now();
        log_debug(std::string(phase) + ": " +
                  std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now - last).count() / 1000.0) + " ms");
        last = now;
    }
};

// The settings that shape what a commit renders to; when they change, the same commit must be
// rendered and planned again (a new source.path, a lifted limit, another root).
std::string render_key(const Config &c, const std::string &images) {
    std::string k = c.source.url + "\n" + c.source.branch + "\n" + c.source.tag + "\n" + c.source.path + "\n" + c.apply.root +
                    "\n" + (c.apply.prune ? "1" : "0") + "\n" + std::to_string(c.apply.max_deletions) + "\n" +
                    std::to_string(c.apply.max_files) + "\n" + std::to_string(c.apply.max_file_size);
    for (const auto &p : c.apply.protect) k += "\n" + p;
    if (!images.empty()) k += "\nimages\n" + images; // tags chosen by image automation
    return blob_id(k);
}

} // namespace

Reconciler::Reconciler(Config cfg, Store store, unique_fd lock, RootedFs fs)
    : cfg_(std::move(cfg)), store_(std::move(store)), lock_(std::move(lock)), fs_(std::move(fs)) {}

Reconciler::~Reconciler() = default;

std::string Reconciler::current_render_key() const { return render_key(cfg_, images_key()); }

Result<std::unique_ptr<Reconciler>> Reconciler::open(const Config &cfg) {
    auto store = Store::open(cfg.state.dir);
    if (!store) return fail(std::move(store.error()));
    auto lock = store->lock();
    if (!lock) return fail(std::move(lock.error()));
    auto fs = RootedFs::open(cfg.apply.root);
    if (!fs) return fail(std::move(fs.error()));
    std::unique_ptr<Reconciler> r(new Reconciler(cfg, std::move(*store), std::move(*lock), std::move(*fs)));
    bool rebuild_status = false;
    if (auto old = read_status(cfg.state.dir)) r->status_ = *old;
    else if (::access(r->store_.path("status.json").c_str(), F_OK) == 0) {
        // A damaged status file costs nothing that matters: moved aside, rebuilt below from
        // the generations (counters restart from what history shows).
        std::string broken = r->store_.path("status.json.broken");
        (void)::rename(r->store_.path("status.json").c_str(), broken.c_str());
        log_warning("state: " + old.error().message + "; moved to " + broken + ", status rebuilt from the generations");
        rebuild_status = true;
    }
    r->notifier_ = std::make_unique<Notifier>(cfg.notify);
    r->remove_validate_staging();
    r->load_identity(); // before recovery, which may have to write secrets back
    r->load_images();

    // state.dir's own files: what can be rebuilt is, and said; what cannot is named, with the
    // command that repairs it, and fjordd stays up refusing to apply (never a fresh start).
    FJORD_TRY(r->check_state_dir());
    if (!r->damaged_.empty()) return r;

    // The generations in state.dir describe one apply.root; applied to another, fjord would
    // overwrite and delete files it never adopted there.
    auto cur = r->store_.current();
    if (!cur) return fail(std::move(cur.error()));
    std::string applied_root = r->store_.applied_root();
    if (*cur != 0 && !applied_root.empty() && applied_root != cfg.apply.root)
        return fail(Errc::invalid, cfg.file + ": apply.root is " + cfg.apply.root + ", but state.dir " + cfg.state.dir +
                                       " holds generations applied to " + applied_root +
                                       "; use a fresh state.dir for a new root (or put apply.root back)");
    if (applied_root != cfg.apply.root) FJORD_TRY(r->store_.set_applied_root(cfg.apply.root));

    // A recovery that fails (podman down, a path it cannot write) is retried at every sync;
    // fjordd stays up to say why rather than exit and be restarted into the same failure.
    if (auto s = r->recover_pending(); !s) {
        r->recovery_error_ = s.error().message;
        log_error(s.error().message + "; retried at every poll");
    }
    r->refresh_status_from_store();
    if (rebuild_status) r->rebuild_status();
    r->backfill_objects();
    r->settle_images();
    r->status_.suspended.clear();
    if (!r->store_.flag("pinned").empty()) r->status_.suspended = "pinned to generation " + r->store_.flag("pinned") + " by fjordctl rollback; fjordctl resume to follow Git again";
    else if (!r->store_.flag("suspended").empty()) r->status_.suspended = "suspended by fjordctl suspend";
    else if (!r->store_.flag("halted").empty()) r->status_.suspended = r->store_.flag("halted");
    return r;
}

Status Reconciler::ensure_source() {
    if (source_) return {};
    auto s = GitSource::open(cfg_.source, store_.path("repo"));
    if (!s && s.error().code == Errc::io) {
        // A cache that cannot even be opened (a damaged HEAD or config) is fjord's own data:
        // moved aside and started afresh, never a reason to stop.
        move_cache_aside(s.error().message);
        s = GitSource::open(cfg_.source, store_.path("repo"));
    }
    if (!s) return fail(std::move(s.error()));
    // We hold the state lock, so a ref lock in the cache is left over from a killed fetch.
    if (auto c = (*s)->clear_stale_locks(); !c) log_warning("clear stale Git locks: " + c.error().message + ", ignoring");
    source_ = std::move(*s);
    return {};
}

Status Reconciler::reconfigure(const Config &cfg) {
    if (cfg.state.dir != cfg_.state.dir)
        return fail(Errc::invalid, "state.dir cannot change while fjordd runs (restart it instead)");
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
    registry_.reset(); // podman.registry_auth_file is read again
    cfg_ = cfg;
    notifier_->set_targets(cfg.notify);
    if (source_changed) source_.reset();
    if (identity_changed) load_identity();
    refused_commit_.clear();
    return {};
}

std::string identity_path(const Config &cfg) {
    if (cfg.secrets.identity == SecretsConfig{}.identity && cfg.state.dir != StateConfig{}.dir)
        return cfg.state.dir + "/age/identity";
    return cfg.secrets.identity;
}

void Reconciler::load_identity() {
    bool created = false;
    auto id = ensure_identity_file(identity_path(cfg_), &created);
    if (!id) {
        identity_.reset();
        identity_error_ = id.error().message;
        // fjord runs on without it; only .age files are refused, each with this reason.
        log_warning("secrets identity: " + identity_error_ + "; files ending in .age will be refused");
        return;
    }
    identity_ = std::make_shared<const AgeIdentity>(std::move(*id));
    identity_error_.clear();
    if (created)
        log_info("created the age identity " + identity_path(cfg_) + "; its recipient is " + identity_->recipient().encode());
}

std::function<Result<std::string>(std::string_view, const std::string &)> Reconciler::decryptor() const {
    return [id = identity_, why = identity_error_](std::string_view ciphertext, const std::string &origin) -> Result<std::string> {
        if (!id) return fail(Errc::invalid, origin + ": cannot decrypt: " + why);
        auto plain = age_decrypt(ciphertext, std::span<const AgeIdentity>(id.get(), 1));
        if (!plain) return fail(std::move(plain.error()).context(origin));
        return plain;
    };
}

void Reconciler::with_secrets(ApplyContext &ctx) const {
    ctx.decrypt = decryptor();
    if (!identity_) return; // adopting at a secret's path is then refused: its original would be stored in the clear
    ctx.seal = [id = identity_](std::string_view plaintext) {
        AgeRecipient self = id->recipient();
        return age_encrypt(plaintext, std::span<const AgeRecipient>(&self, 1), false);
    };
}

SecretDigest Reconciler::digester() const {
    if (!identity_) return {};
    return [id = identity_](std::string_view plaintext) { return id->digest(plaintext); };
}

void Reconciler::refresh_status_from_store() {
    // Generations still "pending" with no journal once recovery ran: older ones a crash left
    // between storing them and writing their journal (recovery handles the newest).
    auto journal = store_.journal();
    if (auto hist = store_.history(); hist && journal && !*journal)
        for (auto info : *hist)
            if (info.outcome == Outcome::pending) {
                info.outcome = Outcome::rolled_back;
                info.message = "interrupted before it began";
                (void)store_.save_info(info);
            }
    auto cur = store_.current();
    status_.generation = cur ? *cur : 0;
    status_.commit.clear();
    if (cur && *cur)
        if (auto info = store_.load_info(*cur)) status_.commit = info->commit;
    save_status();
}

Result<SystemdManager *> Reconciler::systemd() {
    if (systemd_) return systemd_.get();
    if (cfg_.systemd.bus.empty() && cfg_.apply.root != "/") return static_cast<SystemdManager *>(nullptr);
    auto m = connect_systemd(cfg_.systemd.bus, cfg_.health.timeout);
    if (!m) return fail(std::move(m.error()));
    systemd_ = std::move(*m);
    return systemd_.get();
}

Podman &Reconciler::podman() {
    // Creating it connects nothing: hosts without podman and without containers never reach it.
    if (!podman_) podman_ = podman_api(cfg_.podman.socket, std::chrono::milliseconds(30'000));
    return *podman_;
}

Result<const Generation *> Reconciler::current_generation(std::uint64_t n) {
    if (!cur_cache_ || cur_cache_->info.number != n) {
        auto g = store_.load(n);
        if (!g) return fail(std::move(g.error()));
        cur_cache_ = std::move(*g);
    }
    return &*cur_cache_;
}

void Reconciler::release_memory() {
    cur_cache_.reset();
    ::malloc_trim(0);
}

void Reconciler::set_next_poll(std::int64_t t) {
    status_.next_poll = t;
    save_status();
}

void Reconciler::save_status() {
    auto r = write_file_atomic(store_.path("status.json"), status_to_json(status_) + "\n", 0600);
    if (!r) log_warning("save status: " + r.error().message + ", ignoring");
    if (auto m = write_metrics(cfg_.metrics_textfile, cfg_.state.dir, status_); !m)
        log_warning("metrics: " + m.error().message + ", ignoring");
}

SyncResult Reconciler::finish(SyncResult r) {
    status_.last_sync = std::time(nullptr);
    status_.last_result = sync_state_name(r.state);
    if (r.state == SyncState::failed || r.state == SyncState::refused) status_.last_error = r.message;
    else if (r.state == SyncState::applied || r.state == SyncState::up_to_date) status_.last_error.clear();
    if (r.state == SyncState::applied || r.state == SyncState::up_to_date) status_.last_success = status_.last_sync;
    save_status();
    notify(sync_event(r));
    return r;
}

Result<ApplyReport> Reconciler::apply_desired(const DesiredState &desired, const Generation &cur,
                                              const SyncOptions &opts, const std::string &message,
                                              std::string *plan_text, const std::map<std::string, AppliedContainer> *pins) {
    attempt_gen_ = 0;
    rolled_back_ = false;
    auto plan = make_plan(cur, desired, fs_, PlanOptions{cfg_.apply.prune, cfg_.apply.protect, own_host_paths(cfg_), pins, unrestorable_});
    if (!plan) return fail(std::move(plan.error()));
    plan->converge_units = opts.rollback;
    if (plan_text) *plan_text = describe(*plan, cur);
    std::uint32_t limit = opts.allow_deletions.value_or(cfg_.apply.max_deletions);
    // A removed container counts as a deletion: it is gone with whatever it held in itself.
    std::size_t deletions = plan->deletions + plan->container_removals;
    if (deletions > limit)
        return fail(Errc::guardrail, "the plan deletes " + std::to_string(plan->deletions) + " files" +
                                       (plan->container_removals ? " and " + std::to_string(plan->container_removals) + " containers" : "") +
                                       ", more than apply.max_deletions = " + std::to_string(cfg_.apply.max_deletions) +
                                       "; nothing was changed. To allow it once: fjordctl sync --allow-deletions " + std::to_string(deletions));
    // Refused even when nothing else changes (and in a dry run), so the operator hears of it.
    for (const auto &c : desired.checks)
        if (!c.container.empty() && !plan->next.containers.count(c.container))
            return fail(Errc::invalid, "check " + c.name + ": container " + c.container + ": no such container in this generation");
    if (opts.dry_run || (plan->empty() && cur.info.number != 0)) return ApplyReport{};
    auto next = store_.next_number();
    if (!next) return fail(std::move(next.error()));
    plan->next.info.number = attempt_gen_ = *next;
    plan->next.info.commit = desired.commit;
    plan->next.info.message = message;
    plan->next.info.changes = change_summary(*plan, cur, units_started(cur, *plan).size());
    if (on_progress) {
        std::size_t units = 0;
        for (const auto &[name, u] : plan->next.units) {
            auto old = cur.units.find(name);
            units += old == cur.units.end() || !same_unit(old->second, u);
        }
        on_progress("applying generation " + std::to_string(*next) + ": " +
                    std::to_string(plan->writes + plan->deletions + plan->restores) + " files, " + std::to_string(units) + " units" +
                    (plan->containers.empty() ? "" : ", " + std::to_string(plan->containers.size()) + " containers"));
    }
    ApplyContext ctx{store_, fs_, source_.get(), cfg_.apply.max_file_size};
    with_secrets(ctx);
    ctx.podman = &podman();
    if (!cur.units.empty() || !plan->next.units.empty()) {
        auto sd = systemd();
        if (!sd) return fail(sd.error().context("units"));
        ctx.systemd = *sd;
        status_.note = *sd ? "" : "unit files are written under apply.root but not activated (no systemd.bus set)";
        // A [unit] table for a unit that is neither in units/ nor known to systemd cannot be
        // started, restarted or watched: refused before anything changes.
        // A unit whose only file is the one this commit removes counts as unknown too: a file
        // fjord wrote (not one it adopted, whose original comes back) that the commit drops and
        // apply.prune deletes. The host's own unit file there, never in Git, stays.
        if (ctx.systemd)
            for (const auto &[name, u] : plan->next.units) {
                std::string own_file = "/etc/systemd/system/" + name;
                // Its file from units/ or files/: systemd knows it after the daemon-reload.
                if (!u.id.empty() || plan->next.files.count(own_file)) continue;
                auto st = ctx.systemd->state(name);
                if (!st) continue; // the bus: the apply finds out and says so
                auto was = cur.files.find(own_file);
                bool file_goes = cfg_.apply.prune && st->fragment == own_file && was != cur.files.end() && !was->second.orig.existed;
                if (st->load == "not-found" || file_goes)
                    return fail(Errc::invalid, "[unit.\"" + printable(name) + "\"]: no units/" + printable(name) + " in the commit, and systemd " +
                                                   (file_goes ? "knows it only from that file, which this commit removes" : "has no such unit") +
                                                   "; nothing was changed");
            }
    }
    // Checks are built before the host is touched: one that cannot run (a container check, a
    // unit check without systemd) refuses the commit with nothing changed.
    SystemdManager *check_sd = ctx.systemd;
    for (const auto &c : desired.checks)
        if (!c.unit.empty() && !check_sd) {
            auto sd = systemd();
            if (!sd) return fail(sd.error().context("check " + c.name));
            check_sd = *sd;
        }
    auto checks = build_checks(desired.checks, check_sd, ctx.systemd ? units_started(cur, *plan) : std::vector<std::string>{},
                               ctx.podman, &plan->next.containers, exec_context(plan->next, cur.info.commit, "applied"));
    if (!checks) return fail(std::move(checks.error()));
    // The dead-man's switch: the remote answered the poll that started this sync, so if it does
    // not answer again within health.timeout, this generation cut the host off: roll it back.
    if (cfg_.health.require_source_reachable && source_ && !desired.commit.empty()) {
        Check c;
        c.name = "source";
        c.probe = function_probe("Git remote " + cfg_.source.url, [this](std::chrono::milliseconds) {
            auto h = poll_isolated(*source_, cfg_.source);
            // A missing branch is still an answer; a wrong server (host key, auth) is not.
            if (h || h.error().code == Errc::not_found) return ProbeResult{true, "answered"};
            return ProbeResult{false, h.error().message};
        });
        c.period = std::chrono::milliseconds(2'000);
        c.failure_threshold = std::numeric_limits<std::int64_t>::max(); // only health.timeout fails it
        checks->push_back(std::move(c));
    }
    std::string gen = std::to_string(*next), health_error;
    auto verify = [&]() -> Status {
        Status s;
        if (!checks->empty()) {
            if (on_progress) on_progress("checking generation " + gen + ": checks 0/" + std::to_string(checks->size()) + " passing");
            count_passing_checks(*checks, [&](std::size_t n, std::size_t total) {
                if (on_progress) on_progress("checking generation " + gen + ": checks " + std::to_string(n) + "/" + std::to_string(total) + " passing");
            });
            SteadyClock clock;
            s = run_checks(*checks, clock, cfg_.health.timeout, [&](const Check &c, const ProbeResult &res) {
                log_debug("generation " + gen + ": check " + c.name + ": " + c.probe->target() + ": " + res.detail);
            });
        }
        // A failing post-apply hook counts as a failed health check. A rollback runs the target's
        // checks, never its hooks.
        if (s && !opts.rollback) s = run_hooks(desired.hooks, "post-apply", hook_env(desired, cur, *plan, "applied"));
        if (!s) health_error = s.error().message;
        return s;
    };
    if (!opts.rollback) FJORD_TRY(guard_apply(desired, cur, *plan));
    if (auto why = start_attempt(desired.commit); !why.empty()) return fail(Errc::refused, why);
    auto started = std::chrono::steady_clock::now();
    auto report = apply_plan(ctx, cur, *plan, desired, verify);
    status_.apply_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (report) status_.changes_total += report->written + report->removed + report->restored;
    // A failure before the journal (a pull, podman down) changed nothing: not a rollback.
    auto saved = report ? std::nullopt : attempted();
    rolled_back_ = saved && saved->outcome == Outcome::rolled_back;
    if (rolled_back_) ++status_.rollbacks_total;
    if (!report && !health_error.empty()) {
        log_msg(LogLevel::error, msgid::health_failed, "generation " + gen + " failed its health checks, rolled back: " + health_error,
                {{"COMMIT", desired.commit}, {"GENERATION", gen}});
        if (auto j = store_.journal(); j && !*j) report.error().message += "; " + after_rollback(cur, plan->next, check_sd);
    } else if (auto j = store_.journal(); report || (j && !*j)) {
        // The attempt ended (good, or rolled back whole): it was not interrupted. A rollback
        // for a reason shown transient still counts, so one that keeps undoing the host's
        // changes halts after max_attempts instead of looping with its backoff.
        if (report || !rolled_back_ || !transient(report.error().code)) clear_attempts();
    }
    if (!report) {
        if (!opts.rollback) after_failed_apply(desired, cur, *plan);
        return fail(report.error().context("apply generation " + gen));
    }
    log_msg(LogLevel::info, msgid::marked_good,
            "generation " + gen + " marked good (" + std::to_string(checks->size()) +
                (checks->size() == 1 ? " health check passed)" : " health checks passed)"),
            {{"COMMIT", desired.commit}, {"GENERATION", gen}});
    // Keep the generation's commit reachable in the cache, then forget what is no longer kept.
    if (!desired.commit.empty()) (void)source_->keep(std::to_string(*next), desired.commit);
    status_.managed = plan->next.files.size();
    // Drift the pass could not correct was written (or dropped) by this apply.
    status_.drifted -= std::min<std::size_t>(status_.drifted, unrestorable_.size());
    unrestorable_.clear();
    StatCache stamps = store_.load_stat_cache();
    for (auto &[p, st] : report->stamps) stamps[p] = st;
    for (auto it = stamps.begin(); it != stamps.end();)
        it = plan->next.files.count(it->first) ? std::next(it) : stamps.erase(it);
    if (auto s = store_.save_stat_cache(stamps); !s) log_warning("save stat cache: " + s.error().message + ", ignoring");
    cur_cache_.reset(); // the next reader loads the new current generation
    auto before = store_.history();
    if (auto s = store_.prune(cfg_.state.keep_generations); !s) log_warning("prune generations: " + s.error().message + ", ignoring");
    if (before) {
        auto after = store_.history();
        for (const auto &g : *before) {
            bool kept = false;
            if (after)
                for (const auto &a : *after) kept = kept || a.number == g.number;
            if (!kept) (void)source_->unkeep(std::to_string(g.number));
        }
    }
    return report;
}

std::uint32_t Reconciler::note_fetch_failure(const std::string &commit) {
    Attempts a = next_attempt(parse_attempts(store_.flag("fetch_failures")), commit);
    if (auto s = store_.set_flag("fetch_failures", format_attempts(a)); !s)
        log_warning("fetch failures: " + s.error().message + ", ignoring");
    return a.count;
}

std::uint32_t Reconciler::note_render_death(const std::string &commit) {
    Attempts a = next_attempt(parse_attempts(store_.flag("render_deaths")), commit);
    if (auto s = store_.set_flag("render_deaths", format_attempts(a)); !s)
        log_warning("render deaths: " + s.error().message + ", ignoring");
    return a.count;
}

SyncResult Reconciler::sync(const SyncOptions &opts) {
    SyncResult r;
    PhaseTimer timer;
    cache_repaired_ = false;
    if (!damaged_.empty()) {
        r.message = damaged_;
        r.msgid = msgid::failed;
        return finish(r);
    }
    if (cfg_.source.url.empty()) {
        r.state = SyncState::not_configured;
        r.message = "source.url is not set in " + cfg_.file + "; nothing to follow";
        return finish(r);
    }
    if (auto s = ensure_source(); !s) {
        r.message = s.error().message;
        return finish(r);
    }
    if (auto s = recover_pending(); !s) {
        r.message = s.error().message;
        return finish(r);
    }
    auto head = poll_isolated(*source_, cfg_.source);
    if (!head) {
        count_poll_error(status_, head.error().code);
        r.message = head.error().message;
        r.msgid = msgid::failed;
        return finish(r);
    }
    r.commit = head->commit;
    facts_ = host_facts(); // once per reconcile: a new address re-renders, an unchanged one costs nothing
    timer.mark("poll");
    auto cur_n = store_.current();
    if (!cur_n) {
        r.message = cur_n.error().message;
        return finish(r);
    }
    r.generation = *cur_n;
    if (opts.retry && !opts.dry_run && !store_.flag("halted").empty()) {
        if (status_.suspended == store_.flag("halted")) status_.suspended.clear();
        clear_halt();
    }
    if (!status_.suspended.empty() && !opts.dry_run) {
        r.state = SyncState::suspended;
        r.message = status_.suspended;
        return finish(r);
    }
    // The idle path: nothing new means nothing fetched, rendered or touched.
    bool seen = (head->commit == status_.synced_commit || head->commit == status_.commit) &&
                status_.render_key == current_render_key() && status_.facts_key == facts_key(facts_);
    if (seen && !opts.dry_run && *cur_n != 0) {
        r.state = SyncState::up_to_date;
        r.message = "up to date at " + short_id(head->commit);
        return finish(r);
    }
    if (auto bad = store_.bad_commits(); !opts.retry && bad.count(head->commit)) {
        // The reason stays with the mark, so status keeps saying why, poll after poll.
        const std::string &why = bad[head->commit];
        r.state = SyncState::failed;
        r.continuation = true;
        r.message = "commit " + short_id(head->commit) + " failed before and is not retried until a newer commit arrives " +
                    "(fjordctl sync --retry forces it)" + (why.empty() ? "" : ": " + why);
        return finish(r);
    }
    // A commit whose last try failed for a transient reason waits out its backoff; any sync
    // the operator asks for tries at once.
    if (std::int64_t left = backoff_left(backoff_, head->commit, steady_seconds()); left > 0 && !opts.manual && !opts.dry_run) {
        r.state = SyncState::failed;
        r.continuation = true;
        r.message = backoff_.why + " (waiting " + std::to_string(backoff_.delay) + " s before the next try)";
        return finish(r);
    }
    // A guardrail refusal is remembered, so polls do not render the same commit again; any
    // sync the operator asks for looks again.
    if (head->commit == refused_commit_ && !opts.manual && !opts.dry_run) {
        r.state = SyncState::refused;
        r.message = status_.last_error;
        return finish(r);
    }
    // prerequisites.mode = block: while a host check fails, nothing new is fetched or applied.
    // Neither marked bad nor remembered as refused: the commit is fine, the host is not (yet).
    if (std::string why = apply_gate_ ? apply_gate_() : std::string(); !why.empty() && !opts.dry_run) {
        r.state = SyncState::refused;
        r.message = why;
        r.msgid = msgid::refused;
        return finish(r);
    }
    if (auto s = fetch_isolated(*source_, *head); !s) {
        // A fetch into a damaged cache fails whatever the remote does: the cache is checked
        // before the remote is blamed.
        Status repaired = fail(s.error());
        if (auto v = verify_isolated(*source_); !v && v.error().code == Errc::corrupt) repaired = repair_cache(v.error().message, *head);
        // The remote answered the poll: a fetch of the same commit failing a second time is
        // most likely the cache's fault in a way the check cannot see. It is cloned again,
        // once a commit (a remote failing for real is not cloned again at every poll).
        else if (note_fetch_failure(head->commit) == 2)
            repaired = repair_cache("the fetch of " + short_id(head->commit) + " failed twice while the remote answers: " + s.error().message, *head);
        if (!repaired) {
            count_poll_error(status_, s.error().code);
            r.message = repaired.error().message;
            r.msgid = msgid::failed;
            return finish(r);
        }
    }
    if (!store_.flag("fetch_failures").empty()) (void)store_.clear_flag("fetch_failures");
    timer.mark("fetch");
    log_msg(LogLevel::debug, msgid::fetched, "fetched " + head->ref + " at " + short_id(head->commit), {{"COMMIT", head->commit}});

    auto cur = current_generation(*cur_n);
    if (!cur) {
        r.message = cur.error().message;
        return finish(r);
    }
    timer.mark("load generation");
    std::string base = status_.synced_commit.empty() ? (*cur)->info.commit : status_.synced_commit;
    if (!base.empty() && base != head->commit) {
        auto desc = descends_isolated(*source_, head->commit, base);
        // Only a verified cache is judged: the applied commit is kept by a ref, so a cache that
        // lacks it (or a commit between) lost it. It is cloned again and asked again; only then
        // does a missing commit mean the history was rewritten.
        if (!desc && (desc.error().code == Errc::corrupt || (desc.error().code == Errc::not_found && !cache_repaired_))) {
            if (auto rs = repair_cache(desc.error().message, *head); !rs) {
                r.message = rs.error().message + " (tried again at the next poll)";
                r.msgid = msgid::failed;
                return finish(r);
            }
            desc = descends_isolated(*source_, head->commit, base);
        }
        bool accept = cfg_.source.accept_history_rewrite || opts.accept_rewrite;
        // The applied commit missing from the fetched history is a rewrite; the check failing
        // (its sandbox, I/O) is this sync's failure, retried at the next poll.
        if (!desc && desc.error().code != Errc::not_found && !accept) {
            r.message = "history check of " + short_id(head->commit) + ": " + desc.error().message + " (tried again at the next poll)";
            r.msgid = msgid::failed;
            return finish(r);
        }
        if (!desc || !*desc) {
            if (!accept) {
                r.state = SyncState::refused;
                r.message = "history rewritten: " + head->ref + " at " + short_id(head->commit) + " does not contain the applied commit " +
                            short_id(base) + " (a force-push?); refused until source.accept_history_rewrite = true or fjordctl sync --accept-rewrite";
                refused_commit_ = head->commit;
                r.msgid = msgid::refused;
                return finish(r);
            }
            log_warning("history rewritten at " + short_id(head->commit) + ", accepted", {{"COMMIT", head->commit}});
        }
    }

    // source.allowed_signers: the head commit's signature is checked before any of it is read.
    if (!cfg_.source.allowed_signers.empty()) {
        auto signer = verify_commit_signature(*source_, head->commit, cfg_.source.allowed_signers);
        if (!signer) {
            bool refused = signer.error().code == Errc::refused;
            r.state = refused ? SyncState::refused : SyncState::failed;
            r.message = "commit " + short_id(head->commit) + ": " + signer.error().message;
            r.msgid = refused ? msgid::refused : msgid::failed;
            if (refused && !opts.dry_run) refused_commit_ = head->commit; // not looked at again until a new commit
            return finish(r);
        }
        log_msg(LogLevel::info, nullptr, "commit " + short_id(head->commit) + " signed by " + signer->fingerprint + " (" + signer->principals + ", " + signer->origin + ")",
                {{"COMMIT", head->commit}, {"SIGNER", signer->fingerprint}});
    }
    RenderOptions ro = render_options(cfg_);
    timer.mark("ancestry and tree");
    // What the current generation holds passed the same limits (render settings unchanged).
    const Generation *prev = *cur;
    if (status_.render_key == current_render_key())
        ro.vetted = [prev](const std::string &path, const std::string &id) {
            auto it = prev->files.find(path);
            return it != prev->files.end() && it->second.spec.id == id;
        };
    ro.decrypt = decryptor();
    ro.secret_digest = digester();
    std::vector<ContainerImageSpec> git_images;
    auto render_head = [&](const RenderOptions &o) {
        ++status_.renders_total;
        return render_isolated(*source_, head->commit, o);
    };
    auto desired = render_commit(render_head, ro, **cur, [&](DesiredState &d) { git_images = use_chosen_images(d); });
    if (!desired && desired.error().code == Errc::corrupt && !cache_repaired_) {
        // An object of the commit is missing from the cache: clone it again and render again.
        if (auto rs = repair_cache(desired.error().message, *head); !rs) desired = fail(rs.error());
        else desired = render_commit(render_head, ro, **cur, [&](DesiredState &d) { git_images = use_chosen_images(d); });
    }
    timer.mark("render");
    if (!desired) {
        r.state = SyncState::failed;
        r.message = "commit " + short_id(head->commit) + ": " + desired.error().message;
        r.msgid = msgid::failed;
        if (opts.dry_run) return finish(r);
        Errc code = desired.error().code;
        if (commit_at_fault(code)) {
            (void)store_.mark_bad(head->commit, desired.error().message); // bad content: never rendered again until a newer commit
        } else if (code == Errc::killed && note_render_death(head->commit) >= max_render_deaths) {
            // A child killed by a limit or a signal on the same commit again: the commit is the cause.
            (void)store_.mark_bad(head->commit, desired.error().message);
            r.message += " (the renderer died on this commit " + std::to_string(max_render_deaths) +
                         " times: marked bad, not tried again until a newer commit or fjordctl sync --retry)";
        } else {
            // The sandbox's own trouble (a failed fork, the cache): retried, with backoff.
            backoff_ = next_backoff(backoff_, head->commit, steady_seconds(), cfg_.source.poll_interval.count() / 1000, r.message);
            r.message += " (not known to be the commit's fault: tried again in " + std::to_string(backoff_.delay) + " s)";
        }
        return finish(r);
    }
    status_.note.clear();

    std::string plan_text;
    guard_refused_ = false;
    auto report = apply_desired(*desired, **cur, opts, "", &plan_text);
    r.plan = plan_text;
    timer.mark("plan and apply");
    if (!report) {
        Errc code = report.error().code;
        bool refused = code == Errc::refused || code == Errc::guardrail || guard_refused_;
        r.state = refused ? SyncState::refused : SyncState::failed;
        r.message = "commit " + short_id(head->commit) + ": " + report.error().message;
        if (!opts.dry_run) {
            if (code == Errc::guardrail) {
                refused_commit_ = head->commit; // not rendered again by polls until a newer commit or a manual sync
            } else if (code == Errc::refused) {
                // A gate (a pre-apply hook, a halt) or the host in the way (a folder where a file
                // goes): nothing was changed and the commit is not at fault. A pre-apply hook is
                // asked again at every poll; the rest waits with backoff.
                if (!guard_refused_) {
                    backoff_ = next_backoff(backoff_, head->commit, steady_seconds(), cfg_.source.poll_interval.count() / 1000, r.message);
                    r.message += " (tried again in " + std::to_string(backoff_.delay) + " s)";
                }
            } else if (transient(code)) {
                // Shown to be the host's or the network's trouble for now (a full disk, podman or
                // the registry down): retried with doubling delays, never every poll.
                backoff_ = next_backoff(backoff_, head->commit, steady_seconds(), cfg_.source.poll_interval.count() / 1000, r.message);
                r.message += " (tried again in " + std::to_string(backoff_.delay) + " s)";
            } else if (code == Errc::corrupt) {
                // Content missing from the Git cache: it is cloned again now, the commit tried at the next poll.
                if (auto rs = repair_cache(report.error().message, *head); !rs) r.message += "; " + rs.error().message;
            } else {
                // Whatever layer failed (validate, a unit that cannot start, a check, a hook, bad
                // content): the commit is quarantined, never applied and rolled back every poll.
                (void)store_.mark_bad(head->commit, report.error().message);
            }
        }
        r.msgid = refused ? msgid::refused : rolled_back_ ? msgid::rolled_back : msgid::failed;
        r.rolled_back = rolled_back_;
        return finish(r);
    }
    refused_commit_.clear();
    if (!opts.dry_run) {
        backoff_ = {};
        (void)store_.clear_flag("render_deaths");
    }
    if (opts.dry_run) {
        r.state = SyncState::dry_run;
        r.message = plan_text.empty() ? "dry run: nothing would change" : "dry run: the plan for " + short_id(head->commit);
        return finish(r);
    }
    status_.synced_commit = head->commit;
    images_follow(git_images);
    status_.render_key = current_render_key();
    status_.facts_key = facts_key(facts_);
    if (report->generation == 0) {
        r.state = SyncState::up_to_date;
        r.message = "commit " + short_id(head->commit) + " changes nothing on this host";
        return finish(r);
    }
    (void)store_.clear_bad(head->commit);
    status_.generation = report->generation;
    status_.commit = head->commit;
    note_commit(head->commit);
    r.state = SyncState::applied;
    r.generation = report->generation;
    r.message = "applied " + short_id(head->commit) + " as generation " + std::to_string(report->generation) + " (" +
                std::to_string(report->written) + " written, " + std::to_string(report->removed) + " removed, " +
                std::to_string(report->restored) + " restored" +
                (report->containers ? ", " + std::to_string(report->containers) + " containers changed)" : ")");
    r.msgid = msgid::applied;
    return finish(r);
}

} // namespace fjord
