// The stages that change the host: the guard before the journal, the transaction with its
// health checks, an operator's rollback and an image update (both of which plan, guard and
// transact a stored or re-rendered state their own way). Each says what happened as an event;
// daemon/transitions.cpp decides what follows.
#include "apply/commands.hpp"
#include "config/own_paths.hpp"
#include "daemon/attempts.hpp"
#include "daemon/engine.hpp"
#include "daemon/hooks.hpp"
#include "daemon/log.hpp"
#include "daemon/progress.hpp"
#include "health/runner.hpp"
#include "manifest/validate.hpp"
#include "plan/units.hpp"
#include "images/registry.hpp"
#include "util/strings.hpp"
#include <ctime>

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

Event Engine::guard_stage(Run &r) {
    // fleet.toml's wave gate first: a commit held back leaves the host untouched.
    if (auto held = wave_gate(r)) return *held;
    const DesiredState &desired = *r.desired;
    const Generation &cur = *r.cur;
    Plan &plan = *r.plan;
    auto next = store_.next_number();
    if (!next) {
        r.error = next.error();
        r.message = next.error().message;
        return Event::guard_failed;
    }
    plan.next.info.number = *next;
    plan.next.info.commit = desired.commit;
    plan.next.info.message = r.attempt_message;
    plan.next.info.changes = change_summary(plan, cur, units_started(plan).size());
    auto refuse = [&](Error e, Event ev) {
        r.error = e;
        r.message = "commit " + short_id(r.commit) + ": " + e.message;
        return ev;
    };
    if (!cur.units.empty() || !plan.next.units.empty()) {
        auto sd = systemd();
        if (!sd) return refuse(sd.error().context("units"), transient(sd.error().code) ? Event::guard_failed : Event::inconsistent);
        r.systemd = *sd;
        rec_.status().note = *sd ? "" : "unit files are written under apply.root but not activated (no systemd.bus set)";
        // A [unit] table for a unit that is neither in units/ nor known to systemd cannot be
        // started, restarted or watched: refused before anything changes. So is one whose only
        // file is the one this commit drops: a file fjord wrote (not one it adopted, whose
        // original comes back) that apply.prune deletes. The host's own unit file stays.
        if (r.systemd)
            for (const auto &[name, u] : plan.next.units) {
                std::string own_file = "/etc/systemd/system/" + name;
                if (!u.id.empty() || plan.next.files.count(own_file)) continue; // known after the daemon-reload
                auto st = r.systemd->state(name);
                if (!st) continue; // the bus: the apply finds out and says so
                auto was = cur.files.find(own_file);
                bool file_goes = cfg_.apply.prune && st->fragment == own_file && was != cur.files.end() && !was->second.orig.existed;
                if (st->load == "not-found" || file_goes)
                    return refuse(Error{Errc::invalid, "[unit.\"" + printable(name) + "\"]: no units/" + printable(name) +
                                                           " in the commit, and systemd " +
                                                           (file_goes ? "knows it only from that file, which this commit removes" : "has no such unit") +
                                                           "; nothing was changed"},
                                  Event::inconsistent);
            }
    }
    // Checks are built before the host is touched: one that cannot run (a container check, a
    // unit check without systemd) refuses the commit with nothing changed.
    r.check_systemd = r.systemd;
    for (const auto &c : desired.checks)
        if (!c.unit.empty() && !r.check_systemd) {
            auto sd = systemd();
            if (!sd) return refuse(sd.error().context("check " + c.name), Event::guard_failed);
            r.check_systemd = *sd;
        }
    auto checks = checks_for(plan, cur, desired.checks, r.check_systemd, r.systemd != nullptr, !desired.commit.empty());
    if (!checks) return refuse(checks.error(), Event::inconsistent);
    r.checks = std::move(*checks);
    if (!r.rollback) {
        // validate commands of the files the plan writes, on staged copies.
        ValidateContext vc{[this](const std::string &id, std::uint64_t max) { return stored_content(store_, repo().blobs(), id, max); },
                           runtime_dir(cfg_) + "/validate", cfg_.apply.max_file_size, secrets_.decryptor(), cfg_.apply.root};
        if (auto s = validate_files(vc, plan, desired); !s) {
            if (s.error().code != Errc::invalid) return refuse(s.error(), Event::guard_failed);
            // Nothing touched the host; history still shows the generation and why it was refused.
            plan.next.info.time = std::time(nullptr);
            plan.next.info.outcome = Outcome::refused;
            plan.next.info.message = s.error().message;
            if (auto w = store_.save(plan.next); !w) log_warning("record refused generation: " + w.error().message + ", ignoring");
            r.generation = r.attempt = plan.next.info.number; // its report goes beside it
            return refuse(s.error(), Event::validate_failed);
        }
        HookEnv pre = hook_env(plan.next, cur, "pending", cfg_.apply.root);
        pre.steps = &r.steps;
        if (auto s = run_hooks(desired.hooks, "pre-apply", pre); !s)
            return refuse(Error{s.error().code, s.error().message + "; nothing was changed (tried again at the next poll)"}, Event::hook_refused);
    }
    // The loop detector: attempts on this commit that never finished (fjordd killed mid-apply)
    // or kept rolling back for a transient reason. Written before the host is touched.
    Attempts a = next_attempt(parse_attempts(store_.flag("attempts")), desired.commit.empty() ? "-" : desired.commit);
    if (auto why = trip_reason(a); !why.empty()) {
        r.message = why;
        return Event::loop_detected;
    }
    if (auto s = store_.set_flag("attempts", format_attempts(a)); !s) log_warning("attempt counter: " + s.error().message + ", ignoring");
    return Event::guard_passed;
}

Event Engine::transact_stage(Run &r) {
    const DesiredState &desired = *r.desired;
    const Generation &cur = *r.cur;
    Plan &plan = *r.plan;
    std::string gen = std::to_string(plan.next.info.number);
    r.attempt = plan.next.info.number;
    {
        std::size_t units = 0;
        for (const auto &[name, u] : plan.next.units) {
            auto old = cur.units.find(name);
            units += old == cur.units.end() || !same_unit(old->second, u);
        }
        std::string what = "applying generation " + gen + ": " + std::to_string(plan.writes + plan.deletions + plan.restores) + " files, " +
                           std::to_string(units) + " units" + (plan.containers.empty() ? "" : ", " + std::to_string(plan.containers.size()) + " containers");
        if (on_progress) on_progress(what);
        // A pending commit status while a new commit applies and checks; a rollback or an image
        // update judges no commit (the recorder sends no verdict for them either).
        if (!r.rollback && !r.image) rec_.applying(r.commit, plan.next.info.number, what);
    }
    ApplyContext ctx{store_, fs_, repo().blobs(), cfg_.apply.max_file_size};
    secrets_.give(ctx);
    ctx.podman = &podman();
    ctx.systemd = r.systemd;
    std::string health_error;
    auto verify = [&]() -> Status {
        Status s;
        if (!r.checks.empty()) {
            if (on_progress) on_progress("checking generation " + gen + ": checks 0/" + std::to_string(r.checks.size()) + " passing");
            count_passing_checks(r.checks, [&](std::size_t n, std::size_t total) {
                if (on_progress) on_progress("checking generation " + gen + ": checks " + std::to_string(n) + "/" + std::to_string(total) + " passing");
            });
            CheckTally tally;
            s = run_checks(r.checks, ports_.clock(), cfg_.health.timeout, [&](const Check &c, const ProbeResult &res) {
                log_debug("generation " + gen + ": check " + c.name + ": " + c.probe->target() + ": " + res.detail);
                tally.seen(c, res);
            });
            tally.add_to(r.steps, "check", has_secrets(plan.next) || has_secrets(cur));
        }
        // A failing post-apply hook counts as a failed health check. A rollback runs the
        // target's checks, never its hooks.
        if (s && !r.rollback) {
            HookEnv post = hook_env(plan.next, cur, "applied", cfg_.apply.root);
            post.steps = &r.steps;
            s = run_hooks(desired.hooks, "post-apply", post);
        }
        if (!s) health_error = s.error().message;
        return s;
    };
    auto started = std::chrono::steady_clock::now();
    auto report = apply_plan(ctx, cur, plan, desired, verify);
    AgentStatus &st = rec_.status();
    st.apply_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (report) {
        st.changes_total += report->written + report->removed + report->restored;
        (void)store_.clear_flag("attempts"); // the attempt ended: it was not interrupted
        log_msg(LogLevel::info, msgid::marked_good, "generation " + gen + " marked good (" + checks_passed(r.checks, desired.checks.size()) + ")",
                {{"COMMIT", desired.commit}, {"GENERATION", gen}});
        after_good(plan, *report);
        r.report = std::move(*report);
        r.generation = plan.next.info.number;
        r.message = "applied " + short_id(r.commit) + " as generation " + gen + " (" + std::to_string(r.report->written) + " written, " +
                    std::to_string(r.report->removed) + " removed, " + std::to_string(r.report->restored) + " restored" +
                    (r.report->containers ? ", " + std::to_string(r.report->containers) + " containers changed)" : ")");
        return Event::applied;
    }
    // A failure before the journal (a pull, podman down) changed nothing: not a rollback.
    auto info = store_.load_info(plan.next.info.number);
    r.rolled_back = info && info->outcome == Outcome::rolled_back;
    if (r.rolled_back) ++st.rollbacks_total;
    r.error = report.error();
    r.message = "commit " + short_id(r.commit) + ": " + report.error().context("apply generation " + gen).message;
    auto journal = store_.journal();
    bool settled = journal && !*journal; // rolled back whole (or never began): not interrupted
    if (!health_error.empty()) {
        log_msg(LogLevel::error, msgid::health_failed, "generation " + gen + " failed its health checks, rolled back: " + health_error,
                {{"COMMIT", desired.commit}, {"GENERATION", gen}});
        if (!settled) {
            if (!r.rollback) after_failed_apply(r);
            return Event::apply_failed;
        }
        // The generation rolled back to must pass its checks again, or the host is not on a
        // good state either: then applies halt. The post-rollback hooks run after that check.
        bool restored_ok = recheck_restored(r, cur, plan.next, r.check_systemd);
        if (!r.rollback) after_failed_apply(r);
        r.message += "; " + r.history_note;
        return restored_ok ? Event::checks_failed : Event::restored_fails_too;
    }
    // A rollback for a reason shown transient still counts as an attempt, so one that keeps
    // undoing the host's changes halts after max_attempts instead of looping with its backoff.
    if (settled && (!r.rolled_back || !transient(report.error().code))) (void)store_.clear_flag("attempts");
    if (r.rolled_back && !r.rollback) after_failed_apply(r);
    if (report.error().code == Errc::corrupt) return Event::cache_damaged;
    // The host in the way (a container of that name fjord did not make): not the commit's
    // fault, it waits with backoff for the operator.
    if (report.error().code == Errc::refused) return Event::host_in_the_way;
    if (transient(report.error().code)) return r.rolled_back ? Event::transient_rolled_back : Event::transient_nothing_changed;
    return Event::apply_failed;
}

Event Engine::rollback_stage(Run &r) {
    auto refuse = [&](std::string why) {
        r.message = std::move(why);
        return Event::rollback_refused;
    };
    if (!damaged_.empty()) return refuse(damaged_);
    if (auto s = recover_pending(); !s) return refuse(s.error().message);
    auto cur_n = store_.current();
    if (!cur_n) return refuse(cur_n.error().message);
    r.cur_n = *cur_n;
    auto hist = store_.history();
    if (!hist) return refuse(hist.error().message);
    std::uint64_t gen = r.rollback_to;
    if (gen == 0) {
        // The newest good generation before the current one.
        for (auto it = hist->rbegin(); it != hist->rend(); ++it)
            if (it->number < *cur_n && it->outcome == Outcome::good) {
                gen = it->number;
                break;
            }
        if (gen == 0) return refuse("no good generation before the current one (" + std::to_string(*cur_n) + ") to roll back to");
    }
    if (auto kept = store_.check_kept(gen); !kept) return refuse(kept.error().message);
    auto target = store_.load(gen);
    if (!target)
        return refuse("generation " + std::to_string(gen) + " is damaged and cannot be a rollback target (" + target.error().message +
                      "); `fjordctl repair` says what is damaged and what it would do");
    if (target->info.outcome != Outcome::good)
        return refuse("generation " + std::to_string(gen) + " is " + outcome_name(target->info.outcome) + ", not a good generation");
    auto cur = current_generation(*cur_n);
    if (!cur) return refuse(cur.error().message);
    r.cur = *cur;
    auto checks = checks_of(*target);
    if (!checks) return refuse("rollback to generation " + std::to_string(gen) + ": " + checks.error().message);
    r.commit = target->info.commit;
    r.desired = desired_from(*target, std::move(*checks));
    PlanOptions po = plan_options();
    po.pinned_containers = &target->containers;
    po.converge_units = true;
    auto plan = make_plan(*r.cur, std::move(*r.desired), fs_, po); // takes the file specs
    if (!plan) return refuse("rollback to generation " + std::to_string(gen) + ": " + plan.error().message);
    r.plan = std::move(*plan);
    r.rollback = true; // units converge to what the target wants; its checks run; no hooks
    r.attempt_message = "rollback to generation " + std::to_string(gen);
    if (r.plan->empty()) { // the host already is as `gen` left it: no new generation, pinned here
        r.generation = *cur_n;
        r.message = "rolled back to generation " + std::to_string(gen) + " (now generation " + std::to_string(*cur_n) +
                    ": nothing to change); automatic applies paused until fjordctl resume";
        return Event::rolled_back_to;
    }
    Event g = guard_stage(r);
    Event t = g == Event::guard_passed ? transact_stage(r) : g;
    halt_if_looping(t, r);
    auto now = store_.current();
    std::uint64_t at = now ? *now : *cur_n;
    r.generation = at;
    if (t != Event::applied) {
        // The host went back where it was (the transaction reverses whole). The operator asked
        // to stop following Git: applies stay paused, pinned to the generation the host is on.
        r.message = "rollback to generation " + std::to_string(gen) + " failed: " + (r.error.message.empty() ? r.message : r.error.message) +
                    "; the host is on generation " + std::to_string(at) + ", automatic applies stay paused until fjordctl resume";
        return Event::rollback_failed;
    }
    r.message = "rolled back to generation " + std::to_string(gen) + " (now generation " + std::to_string(at) +
                "); automatic applies paused until fjordctl resume";
    rec_.status().generation = at;
    if (auto ci = repo().commit_info(r.commit)) rec_.note_commit(r.commit, ci->subject, ci->time);
    else rec_.note_commit(r.commit, "", 0);
    return Event::rolled_back_to;
}

Event Engine::image_stage(Run &r) {
    const ImageUpdate &u = *r.image;
    const std::string what = u.summary();
    r.fields = {{"CONTAINER", u.container}, {"IMAGE", u.image}};
    auto fail_with = [&](std::string why) {
        r.message = "image update " + what + ": " + why;
        rec_.status().last_image_update = what + ": failed, nothing changed";
        return Event::image_failed;
    };
    auto cur_n = store_.current();
    if (!cur_n) return fail_with(cur_n.error().message);
    auto cur = current_generation(*cur_n);
    if (!cur) return fail_with(cur.error().message);
    r.cur_n = r.generation = *cur_n;
    r.cur = *cur;
    // The current commit, rendered as a sync does, with this container at its new tag.
    ContainerSpec updated;
    bool found = false;
    auto desired = render_commit(r.commit, **cur, [&](DesiredState &d) {
        (void)images_.use_chosen(d);
        if (auto it = d.containers.find(u.container); it != d.containers.end()) {
            it->second.image = u.image;
            updated = it->second;
            found = true;
        }
    });
    if (!desired) return fail_with("commit " + short_id(r.commit) + ": " + desired.error().message);
    if (!found) return fail_with("commit " + short_id(r.commit) + " has no container " + u.container);
    r.desired = std::move(*desired);
    // Pulled by the digest the registry named when asked, so the bits deployed are the bits
    // chosen even if the tag moves meanwhile.
    std::map<std::string, AppliedContainer> pins;
    if (auto ref = parse_image_ref(u.image); ref && !u.digest.empty()) pins[u.container] = {updated, ref->name() + "@" + u.digest};
    PlanOptions po = plan_options();
    po.pinned_containers = &pins;
    auto plan = make_plan(*r.cur, std::move(*r.desired), fs_, po); // takes the file specs
    if (!plan) return fail_with(plan.error().message);
    r.plan = std::move(*plan);
    if (r.plan->empty()) {
        r.message = "image update " + what + ": already running";
        rec_.status().last_image_update = what + ": already running";
        return Event::image_running;
    }
    if (on_progress) on_progress("image update " + what);
    if (auto s = images_.start(u); !s) return fail_with(s.error().message + "; nothing changed");
    r.attempt_message = what;
    Event g = guard_stage(r);
    Event t = g == Event::guard_passed ? transact_stage(r) : g;
    halt_if_looping(t, r);
    if (t == Event::applied) {
        ++rec_.status().image_updates_total;
        rec_.status().generation = r.generation;
        r.message = "image update " + what + " applied as generation " + std::to_string(r.generation);
        rec_.status().last_image_update = what + ": generation " + std::to_string(r.generation) + ", good";
        return Event::image_deployed;
    }
    // The tag's own fault (its checks failed, it would not start): never again. A pull that
    // failed, podman or the registry out of reach, a refusal: tried again at the next check.
    Errc code = r.error.code;
    bool answers = code == Errc::io && r.rolled_back && podman().inspect(u.container).has_value();
    bool bad = tag_failed_itself(code, r.rolled_back, answers);
    std::string end = r.rolled_back ? "rolled back to generation " + std::to_string(*cur_n) : "nothing changed";
    end += bad ? "; tag " + u.new_tag + " marked bad, not tried again" : "; tried again at the next registry check";
    r.history_prefix = what;
    r.history_note = r.history_note.empty() ? end : r.history_note + "; " + end; // after the re-check's note
    r.generation = *cur_n;
    r.message = "image update " + what + " failed: " + (r.error.message.empty() ? r.message : r.error.message) + "; " + end;
    rec_.status().last_image_update = what + ": failed, " + end;
    if (!bad) images_.end(u, false, false);
    return bad ? Event::image_tag_failed : Event::image_failed;
}

} // namespace fjord
