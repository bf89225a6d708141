// The Reconciler's care of its own data: the state directory's consistency and its repair,
// recovery of an unfinished transaction, the Git cache moved aside and cloned again, and the
// object store filled for generations of older versions. The sync is in reconciler.cpp.
#include "daemon/reconciler.hpp"

#include "apply/state_check.hpp"
#include "apply/transaction.hpp"
#include "sandbox/isolated.hpp"
#include "daemon/log.hpp"
#include "manifest/validate.hpp"
#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace fjord {

void Reconciler::move_cache_aside(const std::string &why) {
    source_.reset();
    std::string repo = store_.path("repo"), broken = store_.path("repo.broken");
    std::error_code ec;
    std::filesystem::remove_all(broken, ec); // one damaged copy is kept, for a look
    if (::rename(repo.c_str(), broken.c_str()) < 0 && errno != ENOENT) std::filesystem::remove_all(repo, ec);
    log_warning("Git cache " + repo + " failed an integrity check (" + why + "); moved to " + broken + " and cloned again");
}

Status Reconciler::repair_cache(const std::string &why, const RemoteHead &head) {
    cache_repaired_ = true;
    move_cache_aside(why);
    FJORD_TRY(ensure_source());
    if (auto s = fetch_isolated(*source_, head); !s) return fail(s.error().context("clone the Git cache again"));
    // Kept generations keep their commits reachable again where the remote still has them;
    // their content is in fjord's object store either way.
    if (auto hist = store_.history())
        for (const auto &g : *hist)
            if (g.outcome == Outcome::good && !g.commit.empty()) (void)source_->keep(std::to_string(g.number), g.commit);
    return {};
}

Status Reconciler::check_state_dir() {
    auto chk = check_state(store_, status_.commit);
    if (!chk) return fail(chk.error().context("check " + cfg_.state.dir));
    for (const auto &line : chk->rebuilt) log_warning("state: " + line);
    damaged_.clear();
    if (!chk->damage.empty()) {
        damaged_ = "state damaged: " + chk->damage + "; fjord cannot rebuild it by itself and applies nothing until " +
                   "fjordctl repair --yes, which will " + chk->repair;
        log_error(damaged_);
        status_.last_result = sync_state_name(SyncState::failed);
        status_.last_error = damaged_;
        status_.suspended = damaged_; // `fjordctl status`: "applying: paused: state damaged: ..."
        save_status();
    }
    return {};
}

std::string Reconciler::repair(bool yes) {
    if (!yes) {
        auto chk = check_state(store_, status_.commit);
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
    refresh_status_from_store();
    status_.last_error.clear();
    status_.suspended.clear();
    if (!store_.flag("pinned").empty()) status_.suspended = "pinned to generation " + store_.flag("pinned") + " by fjordctl rollback; fjordctl resume to follow Git again";
    else if (!store_.flag("suspended").empty()) status_.suspended = "suspended by fjordctl suspend";
    save_status();
    return out;
}

void Reconciler::backfill_objects() {
    // Generations written before every generation kept its content (format 1) may still need
    // the Git cache for rollback, recovery and drift: their content is copied into the object
    // store once, while the cache still has it.
    auto cur = store_.current();
    if (!cur || *cur == 0) return;
    auto g = store_.load(*cur);
    if (!g || g->checks_kept) return;
    if (auto s = ensure_source(); !s) return;
    std::size_t copied = 0, missing = 0;
    for (const auto &[p, af] : g->files) {
        if (af.spec.kind != FileKind::file || store_.has_object(af.spec.id)) continue;
        auto data = source_->read_blob(af.spec.id, cfg_.apply.max_file_size);
        if (data && store_.put_object(af.spec.id, *data, false)) ++copied;
        else ++missing;
    }
    if (auto s = store_.sync_objects(); !s) log_warning("object store: " + s.error().message + ", ignoring");
    if (auto s = store_.list_objects(*g); !s) log_warning("object store: " + s.error().message + ", ignoring");
    if (copied || missing)
        log_info("object store: copied the content of " + std::to_string(copied) + " files of generation " + std::to_string(*cur) +
                 " from the Git cache" + (missing ? " (" + std::to_string(missing) + " not in the cache)" : ""));
}

void Reconciler::rebuild_status() {
    AgentStatus fresh;
    fresh.generation = status_.generation;
    fresh.commit = status_.commit;
    fresh.synced_commit = status_.commit;
    if (auto hist = store_.history())
        for (const auto &g : *hist) {
            fresh.rollbacks_total += g.outcome == Outcome::rolled_back;
            if (g.number == fresh.generation) fresh.last_success = g.time;
        }
    if (auto g = store_.load(fresh.generation)) fresh.managed = g->files.size();
    status_ = fresh;
    note_commit(status_.commit);
    save_status();
}

Status Reconciler::recover_pending() {
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
    if (auto s = ensure_source(); !s) log_warning("recover: Git cache: " + s.error().message + ", recovering from the object store only");
    ApplyContext ctx{store_, fs_, source_.get(), cfg_.apply.max_file_size};
    with_secrets(ctx);
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
    refresh_status_from_store();
    return {};
}

} // namespace fjord
