// The reconciler's loop guards: the persisted attempt counter (daemon/attempts.hpp), the halt it
// trips, and the health checks run again on the generation an automatic rollback restored.
#include "plan/units.hpp"
#include "daemon/attempts.hpp"
#include "sandbox/isolated.hpp"
#include "daemon/log.hpp"
#include "daemon/own_paths.hpp"
#include "daemon/reconciler.hpp"
#include "daemon/facts.hpp"
#include "health/probes.hpp"
#include "health/runner.hpp"
#include "manifest/render.hpp"
#include "util/host.hpp"
#include <algorithm>

namespace fjord {

std::string Reconciler::start_attempt(const std::string &commit) {
    Attempts a = next_attempt(parse_attempts(store_.flag("attempts")), commit.empty() ? "-" : commit);
    if (auto why = trip_reason(a); !why.empty()) {
        halt(why);
        return why;
    }
    // Written before the host is touched, so a crash from here on is counted.
    if (auto s = store_.set_flag("attempts", format_attempts(a)); !s)
        log_warning("attempt counter: " + s.error().message + ", ignoring");
    return "";
}

void Reconciler::clear_attempts() {
    if (auto s = store_.clear_flag("attempts"); !s) log_warning("attempt counter: " + s.error().message + ", ignoring");
}

void Reconciler::halt(const std::string &why) {
    if (auto s = store_.set_flag("halted", why); !s) log_warning("halt: " + s.error().message + ", ignoring");
    status_.suspended = why;
    log_msg(LogLevel::error, msgid::failed, "applies halted until fjordctl resume or fjordctl sync --retry: " + why);
    save_status();
}

void Reconciler::clear_halt() {
    (void)store_.clear_flag("halted");
    clear_attempts();
}

Result<std::vector<CheckSpec>> Reconciler::checks_of(const Generation &g) {
    if (g.checks_kept || g.info.commit.empty()) return g.checks;
    // A generation written before checks were kept: its [[check]]s are rendered again from its
    // commit (kept generations keep their commits in the Git cache).
    if (auto s = ensure_source(); !s) return fail(s.error().context("generation " + std::to_string(g.info.number) + ": its checks cannot be read"));
    RenderOptions ro = render_options(cfg_);
    ro.facts = facts_.empty() ? host_facts() : facts_;
    set_var(ro.facts, "fjord.commit", VarValue::string(g.info.commit));
    set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(g.info.number)));
    ro.decrypt = decryptor();
    ro.secret_digest = digester();
    auto d = render_isolated(*source_, g.info.commit, ro);
    if (!d) return fail(d.error().context("generation " + std::to_string(g.info.number) + ": its checks cannot be read"));
    return std::move(d->checks);
}

ExecCheckContext Reconciler::exec_context(const Generation &g, const std::string &previous_commit, const char *result) const {
    bool secrets = std::any_of(g.files.begin(), g.files.end(), [](const auto &f) { return f.second.spec.secret; });
    return {hook_variables(HookEnv{g.info.commit, previous_commit, g.info.number, result, cfg_.apply.root, secrets}), secrets};
}

Status Reconciler::recheck_restored(const Generation &restored, const Generation &failed, SystemdManager *sd) {
    std::string gen = std::to_string(restored.info.number);
    auto specs = checks_of(restored);
    if (!specs) return fail(std::move(specs.error()));
    for (const auto &c : *specs)
        if (!c.unit.empty() && !sd)
            if (auto m = systemd(); m) sd = *m;
    // Implicitly, every unit the rollback started or restarted: those that differ between the
    // two generations, or whose files did, and those it brought back to running.
    std::vector<std::string> units;
    if (sd) {
        std::set<std::string> changed;
        for (const auto &[p, f] : failed.files) {
            auto it = restored.files.find(p);
            if (it == restored.files.end() || it->second.spec.id != f.spec.id) changed.insert(p);
        }
        for (const auto &[p, f] : restored.files)
            if (!failed.files.count(p)) changed.insert(p);
        for (const auto &s : plan_units(failed, restored, changed, true).after)
            if (s.kind == UnitStep::start || s.kind == UnitStep::restart) units.push_back(s.unit);
    }
    auto checks = build_checks(*specs, sd, units, &podman(), &restored.containers, exec_context(restored, failed.info.commit, "rolled-back"));
    if (!checks) return fail(checks.error().context("generation " + gen));
    if (checks->empty()) return {};
    if (on_progress) on_progress("checking restored generation " + gen + ": " + std::to_string(checks->size()) + " health checks");
    SteadyClock clock;
    auto s = run_checks(*checks, clock, cfg_.health.timeout, [&](const Check &c, const ProbeResult &res) {
        log_debug("restored generation " + gen + ": check " + c.name + ": " + c.probe->target() + ": " + res.detail);
    });
    return s;
}

std::string Reconciler::after_rollback(const Generation &restored, const Generation &failed, SystemdManager *sd) {
    std::string gen = std::to_string(restored.info.number);
    Status s = recheck_restored(restored, failed, sd);
    // Only checks that ran and failed halt the host; a recheck that could not run (the render
    // sandbox's timeout or limits, I/O) says so and leaves applies going.
    bool failed_too = !s && commit_at_fault(s.error().code);
    std::string note = s            ? "restored generation " + gen + " passed its health checks again"
                       : failed_too ? "restored generation " + gen + " failed its health checks too: " + s.error().message
                                    : "restored generation " + gen + " could not be checked again: " + s.error().message;
    if (auto info = store_.load_info(failed.info.number)) {
        info->message += (info->message.empty() ? "" : "; ") + note;
        (void)store_.save_info(*info);
    }
    LogFields f = {{"COMMIT", restored.info.commit}, {"GENERATION", gen}};
    if (s) {
        log_msg(LogLevel::info, msgid::marked_good, note, f);
        clear_attempts();
    } else if (!failed_too) {
        log_warning(note + "; not halted", f);
        clear_attempts(); // the rollback itself finished
    } else {
        log_msg(LogLevel::error, msgid::health_failed, note, f);
        halt("halted: " + note + "; fix the host, then fjordctl resume or fjordctl sync --retry");
    }
    return note;
}

} // namespace fjord
