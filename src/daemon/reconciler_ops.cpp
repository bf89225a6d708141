// The Reconciler's operator actions (rollback, suspend, resume) and the drift pass; the sync
// itself is in reconciler.cpp.
#include "daemon/reconciler.hpp"

#include "apply/drift.hpp"
#include "apply/transaction.hpp"
#include "daemon/log.hpp"
#include "daemon/notify.hpp"
#include "manifest/validate.hpp"
#include "util/fs.hpp"

namespace fjord {
namespace {

/// What a stored generation asks for, as a desired state (rollback re-applies it): its files,
/// units, containers, checks and hooks.
DesiredState desired_from(const Generation &g, std::vector<CheckSpec> checks) {
    DesiredState d;
    d.commit = g.info.commit;
    for (const auto &[p, af] : g.files) d.files.emplace(p, af.spec);
    for (const auto &[n, c] : g.containers) d.containers.emplace(n, c.spec);
    d.units = g.units;
    d.checks = std::move(checks);
    d.hooks = g.hooks;
    return d;
}

} // namespace

Result<std::vector<DriftEvent>> Reconciler::drift_pass() {
    status_.last_drift = std::time(nullptr);
    if (!damaged_.empty()) return fail(Errc::refused, damaged_);
    FJORD_TRY(recover_pending());
    auto cur_n = store_.current();
    if (!cur_n) return fail(std::move(cur_n.error()));
    if (*cur_n == 0 || cfg_.apply.drift == DriftMode::ignore) return std::vector<DriftEvent>{};
    auto cur = current_generation(*cur_n);
    if (!cur) return fail(std::move(cur.error()));
    StatCache stamps = store_.load_stat_cache();
    std::size_t cached = stamps.size();
    std::size_t refreshed = 0;
    auto events = find_drift(fs_, **cur, stamps, digester(), &refreshed);
    if (!events) return fail(std::move(events.error()));
    status_.drifted = events->size();
    bool correct = cfg_.apply.drift == DriftMode::correct && status_.suspended.empty();
    std::vector<std::string> paths;
    // Content comes from the object store; the Git cache only for what an older fjord did not store.
    if (correct && !events->empty())
        if (auto s = ensure_source(); !s) log_warning("drift correction: Git cache: " + s.error().message + ", using the object store only");
    for (const auto &e : *events) {
        bool fix = correct && e.fixable;
        // Content lost from the object store and the Git cache: not corrected now (the
        // transaction would fail on it), but written again by the next apply.
        if (fix) {
            const auto &spec = (*cur)->files.at(e.path).spec;
            if (spec.kind == FileKind::file && !stored_content(store_, source_.get(), spec.id, cfg_.apply.max_file_size)) {
                unrestorable_.insert(e.path);
                log_msg(LogLevel::error, msgid::drift,
                        "drift: " + printable(e.path) + ": " + e.what + ", cannot be corrected now: its content is in neither " +
                            "fjord's object store nor the Git cache; the next apply writes it again",
                        {{"PATH", e.path}, {"GENERATION", std::to_string(*cur_n)}});
                continue;
            }
        }
        if (fix) paths.push_back(e.path);
        log_msg(e.fixable ? LogLevel::warning : LogLevel::error, msgid::drift,
                "drift: " + printable(e.path) + ": " + e.what +
                    (fix ? ", correcting" : !e.fixable ? ", cannot be corrected" : correct ? "" : ", reported (apply.drift = report)"),
                {{"PATH", e.path}, {"GENERATION", std::to_string(*cur_n)}});
    }
    if (!paths.empty()) {
        ApplyContext ctx{store_, fs_, source_.get(), cfg_.apply.max_file_size};
        with_secrets(ctx);
        auto fixed = restore_paths(ctx, **cur, paths);
        if (!fixed) return fail(fixed.error().context("drift correction"));
        for (auto &[p, st] : *fixed) stamps[p] = st;
        status_.drifted -= paths.size();
        status_.drift_corrections_total += paths.size();
    }
    notify(drift_event(*events, paths.size(), *cur_n, status_.commit));
    if (!events->empty() || stamps.size() != cached || refreshed) {
        if (auto s = store_.save_stat_cache(stamps); !s) log_warning("save stat cache: " + s.error().message + ", ignoring");
    }
    save_status();
    return events;
}

SyncResult Reconciler::rollback(std::uint64_t gen) {
    SyncResult r;
    if (!damaged_.empty()) {
        r.message = damaged_;
        return finish(r);
    }
    if (auto s = recover_pending(); !s) {
        r.message = s.error().message;
        return finish(r);
    }
    auto cur_n = store_.current();
    if (!cur_n) {
        r.message = cur_n.error().message;
        return finish(r);
    }
    auto hist = store_.history();
    if (!hist) {
        r.message = hist.error().message;
        return finish(r);
    }
    if (gen == 0) {
        // The newest good generation before the current one.
        for (auto it = hist->rbegin(); it != hist->rend(); ++it)
            if (it->number < *cur_n && it->outcome == Outcome::good) {
                gen = it->number;
                break;
            }
        if (gen == 0) {
            r.message = "no good generation before the current one (" + std::to_string(*cur_n) + ") to roll back to";
            return finish(r);
        }
    }
    if (auto kept = store_.check_kept(gen); !kept) {
        r.message = kept.error().message; // "generation 7 is not kept (pruned); kept: 12-31"
        return finish(r);
    }
    auto target = store_.load(gen);
    if (!target) {
        r.message = "generation " + std::to_string(gen) + " cannot be read: " + target.error().message;
        return finish(r);
    }
    if (target->info.outcome != Outcome::good) {
        r.message = "generation " + std::to_string(gen) + " is " + outcome_name(target->info.outcome) + ", not a good generation";
        return finish(r);
    }
    auto cur = current_generation(*cur_n);
    if (!cur) {
        r.message = cur.error().message;
        return finish(r);
    }
    if (auto s = ensure_source(); !s) {
        r.message = s.error().message;
        return finish(r);
    }
    auto checks = checks_of(*target);
    if (!checks) {
        r.message = "rollback to generation " + std::to_string(gen) + ": " + checks.error().message;
        return finish(r);
    }
    SyncOptions opts;
    opts.allow_deletions = UINT32_MAX; // the operator asked for exactly this state
    opts.rollback = true;              // units converge to what the target wants; its checks run
    auto report = apply_desired(desired_from(*target, std::move(*checks)), **cur, opts,
                                "rollback to generation " + std::to_string(gen), nullptr, &target->containers);
    if (!report) {
        // The host went back where it was (the transaction reverses whole). The operator asked
        // to stop following Git: applies stay paused, pinned to the generation the host is on.
        auto now = store_.current();
        std::uint64_t at = now ? *now : *cur_n;
        (void)store_.set_flag("pinned", std::to_string(at));
        status_.suspended = "pinned to generation " + std::to_string(at) + " by fjordctl rollback; fjordctl resume to follow Git again";
        r.message = "rollback to generation " + std::to_string(gen) + " failed: " + report.error().message + "; the host is on generation " +
                    std::to_string(at) + ", automatic applies stay paused until fjordctl resume";
        r.generation = at;
        r.rolled_back = rolled_back_;
        r.msgid = msgid::failed;
        return finish(r);
    }
    std::uint64_t now = report->generation ? report->generation : *cur_n;
    (void)store_.set_flag("pinned", std::to_string(now));
    status_.render_key = current_render_key();
    status_.suspended = "pinned to generation " + std::to_string(now) + " by fjordctl rollback; fjordctl resume to follow Git again";
    status_.generation = now;
    status_.commit = target->info.commit;
    note_commit(status_.commit);
    r.state = SyncState::applied;
    r.generation = now;
    r.commit = target->info.commit;
    r.message = "rolled back to generation " + std::to_string(gen) + " (now generation " + std::to_string(now) +
                "); automatic applies paused until fjordctl resume";
    r.msgid = msgid::rolled_back;
    return finish(r);
}

Status Reconciler::suspend() {
    FJORD_TRY(store_.set_flag("suspended", "1"));
    if (status_.suspended.empty()) status_.suspended = "suspended by fjordctl suspend";
    save_status();
    return {};
}

Status Reconciler::resume() {
    FJORD_TRY(store_.clear_flag("suspended"));
    FJORD_TRY(store_.clear_flag("pinned"));
    clear_halt();
    status_.suspended = damaged_; // damage is not lifted by resume: fjordctl repair is
    // A resumed host re-evaluates the newest commit even if it saw it while pinned.
    status_.synced_commit = status_.commit;
    save_status();
    return {};
}

} // namespace fjord
