// The stages from the poll to the plan. Each finds out what happened and says it as an event;
// daemon/transitions.cpp decides what follows.
#include "config/own_paths.hpp"
#include "apply/preview.hpp"
#include "daemon/attempts.hpp"
#include "daemon/engine.hpp"
#include "daemon/log.hpp"
#include "daemon/progress.hpp"
#include "facts/host_facts.hpp"
#include "health/probes.hpp"
#include "manifest/validate.hpp"
#include "plan/units.hpp"
#include "util/deadline.hpp"
#include "util/strings.hpp"

namespace fjord {
namespace {

// Why an apply would refuse what a preview shows (several reasons: each, in order).
void add_refusal(Run &r, const std::string &why) { r.refusal += (r.refusal.empty() ? "" : "; ") + why; }

} // namespace

Event Engine::poll_stage(Run &r) {
    facts_ = ports_.facts(); // once a run: a new address renders again, an unchanged one costs nothing
    if (!damaged_.empty()) {
        r.message = damaged_;
        return Event::state_damaged;
    }
    if (cfg_.source.url.empty()) {
        r.message = "source.url is not set in " + cfg_.file + "; nothing to follow";
        return Event::not_configured;
    }
    if (auto s = recover_pending(); !s) {
        r.message = s.error().message;
        return Event::recovery_failed;
    }
    auto head = repo().poll();
    if (!head) {
        r.error = head.error();
        r.message = head.error().message;
        return Event::poll_failed;
    }
    r.head = *head;
    r.commit = head->commit;
    auto cur_n = store_.current();
    if (!cur_n) {
        r.message = cur_n.error().message;
        return Event::recovery_failed;
    }
    r.cur_n = r.generation = *cur_n;
    return Event::head_found;
}

Event Engine::gates_stage(Run &r) {
    AgentStatus &st = rec_.status();
    if (r.retry && !r.dry_run && !store_.flag("halted").empty()) {
        if (st.suspended == store_.flag("halted")) st.suspended.clear();
        (void)store_.clear_flag("halted");
        (void)store_.clear_flag("attempts");
    }
    if (!st.suspended.empty() && !r.dry_run) {
        r.message = st.suspended;
        return Event::suspended;
    }
    // The idle path: nothing new means nothing fetched, rendered or touched.
    bool seen = (r.commit == st.synced_commit || r.commit == st.commit) && st.render_key == render_key() &&
                st.facts_key == facts_key(facts_);
    if (seen && !r.dry_run && r.cur_n != 0) {
        r.message = "up to date at " + short_id(r.commit);
        return Event::seen;
    }
    if (auto bad = store_.bad_commits(); !r.retry && bad.count(r.commit)) {
        // The reason stays with the mark, so status keeps saying why, poll after poll.
        const std::string &why = bad[r.commit];
        r.message = "commit " + short_id(r.commit) + " failed before and is not retried until a newer commit arrives " +
                    "(fjordctl sync --retry forces it)" + (why.empty() ? "" : ": " + why);
        // A preview shows what the commit would change all the same, then why it is refused.
        if (!r.dry_run) return Event::quarantined_before;
        add_refusal(r, r.message);
    }
    // A commit whose last try failed for a transient reason waits out its backoff; any sync the
    // operator asks for tries at once.
    if (backoff_left(backoff_, r.commit, steady_seconds()) > 0 && !r.manual && !r.dry_run) {
        r.message = backoff_.why + " (waiting " + std::to_string(backoff_.delay) + " s before the next try)";
        return Event::backing_off;
    }
    // A refusal is remembered, so polls do not render the same commit again; any sync the
    // operator asks for looks again.
    if (r.commit == refused_commit_ && !r.manual && !r.dry_run) {
        r.message = st.last_error;
        return Event::refused_before;
    }
    // prerequisites.mode = block: while a host check fails, nothing new is fetched or applied.
    // Neither marked bad nor remembered: the commit is fine, the host is not (yet).
    if (std::string why = apply_gate_ ? apply_gate_() : std::string(); !why.empty()) {
        if (r.dry_run) {
            add_refusal(r, why);
            return Event::gates_open;
        }
        r.message = why;
        return Event::prerequisites_block;
    }
    // A commit fleet.toml's wave gate held back at the last poll: the gate is asked again
    // here, before anything is fetched or rendered again (a poll of a waiting host costs one
    // ls-refs). Open, halted or unreadable: the sync goes on, and the guard does not ask twice.
    if (!r.manual && !r.dry_run && st.rollout == "waiting" && st.rollout_commit == r.commit) {
        auto held = wave_gate(r);
        if (held == Event::wave_waiting) return Event::wave_waiting;
        r.wave_gate_asked = !held;
    }
    return Event::gates_open;
}

Event Engine::fetch_stage(Run &r) {
    auto s = repo().fetch(r.head);
    if (s) {
        if (!store_.flag("fetch_failures").empty()) (void)store_.clear_flag("fetch_failures");
        // A cache cloned again: kept generations keep their commits reachable where the remote
        // still has them (their content is in fjord's object store either way).
        if (r.cache_repaired)
            if (auto hist = store_.history())
                for (const auto &g : *hist)
                    if (g.outcome == Outcome::good && !g.commit.empty()) (void)repo().keep(std::to_string(g.number), g.commit);
        log_msg(LogLevel::debug, msgid::fetched, "fetched " + r.head.ref + " at " + short_id(r.commit), {{"COMMIT", r.commit}});
        return Event::fetched;
    }
    r.error = s.error();
    r.message = s.error().message;
    if (r.cache_repaired) return Event::fetch_failed;
    // A fetch into a damaged cache fails whatever the remote does: the cache is checked
    // before the remote is blamed. The remote answered the poll, so a fetch of the same commit
    // failing a second time is most likely the cache's fault in a way the check cannot see:
    // it is cloned again, once a commit (a remote failing for real is not cloned every poll).
    if (auto v = repo().verify(); !v && v.error().code == Errc::corrupt) {
        r.error = v.error();
        return Event::cache_damaged;
    }
    if (count_flag("fetch_failures", r.commit) == 2) {
        r.error = Error{Errc::corrupt, "the fetch of " + short_id(r.commit) + " failed twice while the remote answers: " + s.error().message};
        return Event::cache_damaged;
    }
    return Event::fetch_failed;
}

Event Engine::verify_stage(Run &r) {
    auto cur = current_generation(r.cur_n);
    if (!cur) {
        r.message = cur.error().message;
        return Event::history_check_failed;
    }
    r.cur = *cur;
    const AgentStatus &st = rec_.status();
    std::string base = st.synced_commit.empty() ? r.cur->info.commit : st.synced_commit;
    if (!base.empty() && base != r.commit) {
        auto desc = repo().descends(r.commit, base);
        bool accept = cfg_.source.accept_history_rewrite || r.accept_rewrite;
        // Only a verified cache is judged: the applied commit is kept by a ref, so a cache that
        // lacks it (or a commit between) lost it. It is cloned again and asked again; only
        // then does a missing commit mean the history was rewritten.
        if (!desc && !r.cache_repaired && (desc.error().code == Errc::corrupt || desc.error().code == Errc::not_found)) {
            r.error = desc.error();
            return Event::cache_damaged;
        }
        // The check failing (its sandbox, I/O) is this sync's failure, tried at the next poll.
        if (!desc && desc.error().code != Errc::not_found && !accept) {
            r.message = "history check of " + short_id(r.commit) + ": " + desc.error().message + " (tried again at the next poll)";
            return Event::history_check_failed;
        }
        if (!desc || !*desc) {
            if (!accept) {
                r.message = "history rewritten: " + r.head.ref + " at " + short_id(r.commit) + " does not contain the applied commit " +
                            short_id(base) + " (a force-push?); refused until source.accept_history_rewrite = true or fjordctl sync --accept-rewrite";
                if (!r.dry_run) return Event::history_rewritten;
                add_refusal(r, r.message); // a preview renders and shows it all the same
            } else {
                log_warning("history rewritten at " + short_id(r.commit) + ", accepted", {{"COMMIT", r.commit}});
            }
        }
    }
    // source.allowed_signers: the head commit's signature is checked before any of it is read.
    if (!cfg_.source.allowed_signers.empty()) {
        auto signer = repo().signer(r.commit, cfg_.source.allowed_signers);
        if (!signer) {
            r.message = "commit " + short_id(r.commit) + ": " + signer.error().message;
            return signer.error().code == Errc::refused ? Event::signature_refused : Event::signature_failed;
        }
        log_msg(LogLevel::info, nullptr,
                "commit " + short_id(r.commit) + " signed by " + signer->fingerprint + " (" + signer->principals + ", " + signer->origin + ")",
                {{"COMMIT", r.commit}, {"SIGNER", signer->fingerprint}});
    }
    return Event::verified;
}

Event Engine::render_stage(Run &r) {
    auto desired = render_commit(r.commit, *r.cur, [&](DesiredState &d) { r.git_images = images_.use_chosen(d); });
    if (desired) {
        rec_.status().note.clear();
        r.desired = std::move(*desired);
        return Event::rendered;
    }
    r.error = desired.error();
    r.message = "commit " + short_id(r.commit) + ": " + desired.error().message;
    Errc code = desired.error().code;
    if (code == Errc::corrupt && !r.cache_repaired) return Event::cache_damaged;
    if (commit_at_fault(code)) return Event::bad_content;
    if (code == Errc::killed) {
        if (!r.dry_run && count_flag("render_deaths", r.commit) >= max_render_deaths) {
            r.message += " (the renderer died on this commit " + std::to_string(max_render_deaths) +
                         " times: marked bad, not tried again until a newer commit or fjordctl sync --retry)";
            return Event::renderer_killed_again;
        }
        r.message += " (the renderer died; tried again later)";
        return Event::renderer_killed;
    }
    // The sandbox's own trouble (a failed fork, the cache): retried, with backoff.
    r.message += " (not known to be the commit's fault)";
    return Event::render_failed;
}

Event Engine::plan_stage(Run &r) {
    const DesiredState &desired = *r.desired;
    const Generation &cur = *r.cur;
    PlanOptions po = plan_options();
    po.rewrite = unrestorable_;
    // The plan takes the file specs (r.desired->files is empty after it): at 100,000 files they
    // are ~40 MB, held once, in plan.next. What reads them after planning reads plan.next.
    auto plan = make_plan(cur, std::move(*r.desired), fs_, po);
    if (!plan) {
        r.error = plan.error();
        r.message = "commit " + short_id(r.commit) + ": " + plan.error().message;
        // A folder or a device in the way on the host is the host's, not the commit's.
        if (plan.error().code == Errc::refused) return Event::host_in_the_way;
        return commit_at_fault(plan.error().code) ? Event::inconsistent : Event::plan_failed;
    }
    r.plan = std::move(*plan);
    r.plan_text = describe(*r.plan, cur);
    // Guardrails and consistency rules, refused even when nothing else changes (and in a dry
    // run), so the operator hears of them.
    if (auto s = check_plan(*r.plan, desired, r.allow_deletions.value_or(cfg_.apply.max_deletions), cfg_.apply.max_deletions); !s) {
        std::string why = "commit " + short_id(r.commit) + ": " + s.error().message;
        if (!r.dry_run) {
            r.error = s.error();
            r.message = why;
            return s.error().code == Errc::guardrail ? Event::guardrail : Event::inconsistent;
        }
        add_refusal(r, why); // a preview shows the changes, then why they would be refused
    }
    if (r.dry_run) {
        PreviewSources src{fs_, &store_, repo().blobs(), short_id(r.commit)};
        r.diff_text = preview(*r.plan, cur, desired, src);
        r.message = r.plan_text.empty() ? "dry run: nothing would change" : "dry run: the plan for " + short_id(r.commit);
        if (!r.refusal.empty()) r.message += "\nwould be refused: " + r.refusal;
        return Event::dry_run;
    }
    if (r.plan->empty() && cur.info.number != 0) {
        r.message = "commit " + short_id(r.commit) + " changes nothing on this host";
        return Event::no_change;
    }
    return Event::planned;
}

} // namespace fjord
