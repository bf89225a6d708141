// The engine's care of its own data: the state directory's consistency and its repair,
// recovery of an unfinished transaction, the object store filled for generations of older
// versions, the status rebuilt; and the drift pass.
#include "apply/state_check.hpp"
#include "apply/transaction.hpp"
#include "daemon/engine.hpp"
#include "daemon/log.hpp"
#include "manifest/validate.hpp"
#include <ctime>

namespace fjord {

Status Engine::check_state_dir() {
    auto chk = check_state(store_, rec_.status().commit);
    if (!chk) return fail(chk.error().context("check " + cfg_.state.dir));
    for (const auto &line : chk->rebuilt) log_warning("state: " + line);
    damaged_.clear();
    if (!chk->damage.empty()) {
        damaged_ = "state damaged: " + chk->damage + "; fjord cannot rebuild it by itself and applies nothing until " +
                   "fjordctl repair --yes, which will " + chk->repair;
        log_error(damaged_);
        rec_.status().last_result = sync_state_name(SyncState::failed);
        rec_.status().last_error = damaged_;
        rec_.status().suspended = damaged_; // `fjordctl status`: "applying: paused: state damaged: ..."
        rec_.save();
    }
    return {};
}

std::string Engine::repair(bool yes) {
    if (!yes) {
        auto chk = check_state(store_, rec_.status().commit);
        if (!chk) return "cannot check " + cfg_.state.dir + ": " + chk.error().message;
        std::string out;
        for (const auto &line : chk->rebuilt) out += "rebuilt: " + line + "\n";
        if (chk->damage.empty()) return out + "nothing to repair: fjord rebuilds what is damaged by itself\n";
        return out + "damaged: " + chk->damage + "\nrepair would: " + chk->repair + "\nrun fjordctl repair --yes to do it\n";
    }
    auto done = repair_state(store_);
    if (!done) return "repair failed: " + done.error().message + "\n";
    std::string out;
    for (const auto &line : *done) {
        log_warning("repair: " + line);
        out += line + "\n";
    }
    cur_cache_.reset();
    if (auto s = check_state_dir(); !s) out += "check after repair: " + s.error().message + "\n";
    if (!damaged_.empty()) return out + damaged_ + "\n";
    if (auto s = recover_pending(); !s) out += "recovery: " + s.error().message + "\n";
    refresh_from_store();
    rec_.status().last_error.clear();
    rec_.status().suspended.clear();
    rec_.status().suspended = paused_reason();
    rec_.save();
    return out;
}

void Engine::backfill_objects() {
    // Generations written before every generation kept its content (format 1) may still need
    // the Git cache for rollback, recovery and drift: their content is copied into the object
    // store once, while the cache still has it (prune keeps what a kept generation's files name).
    auto cur = store_.current();
    if (!cur || *cur == 0) return;
    auto g = current_generation(*cur); // loaded once a run: the drift pass and the sync use it too
    if (!g || (*g)->checks_kept) return;
    const BlobReader *cache = repo().blobs();
    if (!cache) return;
    std::size_t copied = 0, missing = 0;
    for (const auto &[p, af] : (*g)->files) {
        if (af.spec.kind != FileKind::file || store_.has_object(af.spec.id)) continue;
        auto data = cache->read_blob(af.spec.id, cfg_.apply.max_file_size);
        if (data && store_.put_object(af.spec.id, *data, false)) ++copied;
        else ++missing;
    }
    if (auto s = store_.sync_objects(); !s) log_warning("object store: " + s.error().message + ", ignoring");
    if (copied || missing)
        log_info("object store: copied the content of " + std::to_string(copied) + " files of generation " + std::to_string(*cur) +
                 " from the Git cache" + (missing ? " (" + std::to_string(missing) + " not in the cache)" : ""));
}

void Engine::rebuild_status() {
    AgentStatus fresh;
    fresh.generation = rec_.status().generation;
    fresh.commit = rec_.status().commit;
    fresh.synced_commit = rec_.status().commit;
    if (auto hist = store_.history())
        for (const auto &g : *hist) {
            fresh.rollbacks_total += g.outcome == Outcome::rolled_back;
            if (g.number == fresh.generation) fresh.last_success = g.time;
        }
    if (auto g = store_.load(fresh.generation)) fresh.managed = g->files.size();
    rec_.status() = fresh;
    if (auto ci = repo().commit_info(rec_.status().commit)) rec_.note_commit(rec_.status().commit, ci->subject, ci->time);
    rec_.save();
}

Status Engine::recover_pending() {
    auto journal = store_.journal();
    if (!journal && journal.error().code == Errc::corrupt) {
        // The journal of an unfinished transaction, damaged: what it named is not known, so
        // every path the current generation holds (and the pending one touched) is put back.
        auto cur = store_.current();
        if (!cur) return fail(cur.error().context("recover"));
        auto from = store_.load(*cur);
        if (!from) return fail(from.error().context("recover"));
        std::optional<Generation> pending;
        if (auto nums = store_.generation_numbers(); nums && !nums->empty() && nums->back() > *cur)
            if (auto info = store_.load_info(nums->back()); info && info->outcome == Outcome::pending)
                if (auto g = store_.load(nums->back())) pending = std::move(*g);
        Journal full = full_recovery_journal(*from, pending ? &*pending : nullptr);
        log_warning("state: " + journal.error().message + "; putting back every path of generation " + std::to_string(*cur) +
                    " (" + std::to_string(full.paths.size()) + " paths)");
        FJORD_TRY(store_.remove_journal());
        FJORD_TRY(store_.write_journal(full));
        journal = store_.journal();
    }
    if (journal && !*journal) {
        // A generation left pending with no journal: a crash before its journal was written
        // (nothing touched) or a journal lost since (the host maybe half-applied). Which, no
        // one can tell: every path the two generations hold is put back to the current one.
        auto cur = store_.current();
        auto nums = store_.generation_numbers();
        if (cur && nums && !nums->empty() && nums->back() > *cur)
            if (auto info = store_.load_info(nums->back()); info && info->outcome == Outcome::pending) {
                auto from = store_.load(*cur);
                auto pending = store_.load(nums->back());
                if (from && pending) {
                    Journal full = full_recovery_journal(*from, &*pending);
                    log_warning("state: generation " + std::to_string(nums->back()) + " was left pending without its journal; putting back every path of generation " +
                                std::to_string(*cur) + " (" + std::to_string(full.paths.size()) + " paths)");
                    FJORD_TRY(store_.write_journal(full));
                    journal = store_.journal();
                }
            }
    }
    if (!journal) return fail(journal.error().context("read the intent journal"));
    if (!*journal) {
        recovery_error_.clear();
        return {};
    }
    const Journal &j = **journal;
    log_msg(LogLevel::warning, msgid::rolled_back,
            "unfinished transaction found (generation " + std::to_string(j.from) + " -> " + std::to_string(j.to) +
                "), rolling back to generation " + std::to_string(j.from),
            {{"GENERATION", std::to_string(j.to)}});
    // Content comes from fjord's object store; the Git cache is asked only for content an
    // older fjord did not store, so recovery goes on without it (no network is used).
    if (!repo().blobs()) log_warning("recover: the Git cache cannot be opened; recovering from the object store only");
    ApplyContext ctx{store_, fs_, repo().blobs(), cfg_.apply.max_file_size};
    secrets_.give(ctx);
    ctx.podman = &podman();
    if (auto sd = systemd(); sd) ctx.systemd = *sd;
    else log_warning("recover: " + sd.error().message + "; units are not converged, ignoring");
    std::vector<std::string> left;
    if (auto s = recover(ctx, j, true, &left); !s) return fail(s.error().context("recover"));
    if (!left.empty())
        log_warning("recover: " + std::to_string(left.size()) + " path(s) are left as they are (" + printable(left.front()) +
                    (left.size() > 1 ? ", ..." : "") + "): their content is in neither fjord's object store nor the Git cache, or " +
                    "generation " + std::to_string(j.to) + "'s record cannot be read to tell what fjord made from what it adopted; " +
                    "the next apply writes them again");
    recovery_error_.clear();
    cur_cache_.reset();
    refresh_from_store();
    return {};
}

void Engine::refresh_from_store() {
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
    rec_.status().generation = cur ? *cur : 0;
    rec_.status().commit.clear();
    if (cur && *cur)
        if (auto info = store_.load_info(*cur)) rec_.status().commit = info->commit;
    rec_.save();
}

Result<std::vector<DriftEvent>> Engine::drift_pass() {
    rec_.status().last_drift = std::time(nullptr);
    if (!damaged_.empty()) return fail(Errc::refused, damaged_);
    FJORD_TRY(recover_pending());
    auto cur_n = store_.current();
    if (!cur_n) return fail(std::move(cur_n.error()));
    if (*cur_n == 0 || cfg_.apply.drift == DriftMode::ignore) return std::vector<DriftEvent>{};
    auto cur = current_generation(*cur_n);
    if (!cur) return fail(std::move(cur.error()));
    StatCache stamps = store_.load_stat_cache();
    auto events = find_drift(fs_, **cur, stamps, secrets_.digester());
    if (!events) return fail(std::move(events.error()));
    rec_.status().drifted = events->size();
    bool correct = cfg_.apply.drift == DriftMode::correct && rec_.status().suspended.empty();
    std::vector<std::string> paths;
    // Content comes from the object store; the Git cache only for what an older fjord did not store.
    for (const auto &e : *events) {
        bool fix = correct && e.fixable;
        // Content lost from the object store and the Git cache: not corrected now (the
        // transaction would fail on it), but written again by the next apply.
        if (fix) {
            const auto &spec = (*cur)->files.at(e.path).spec;
            if (spec.kind == FileKind::file && !stored_content(store_, repo().blobs(), spec.id, cfg_.apply.max_file_size)) {
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
        ApplyContext ctx{store_, fs_, repo().blobs(), cfg_.apply.max_file_size};
        secrets_.give(ctx);
        auto fixed = restore_paths(ctx, **cur, paths);
        if (!fixed) {
            rec_.record_drift(transition(Stage::drift, Event::drift_failed), *events, 0, *cur_n);
            return fail(fixed.error().context("drift correction"));
        }
        stamps.update(*fixed);
        rec_.status().drifted -= paths.size();
        rec_.status().drift_corrections_total += paths.size();
    }
    Event ev = events->empty() ? Event::drift_none : paths.empty() ? Event::drift_reported : Event::drift_corrected;
    // Written only when a stamp changed: a pass that found nothing new writes nothing.
    if (auto s = store_.save_stat_cache(stamps); !s) log_warning("save stat cache: " + s.error().message + ", ignoring");
    rec_.record_drift(transition(Stage::drift, ev), *events, paths.size(), *cur_n);
    return events;
}

} // namespace fjord
