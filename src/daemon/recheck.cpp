// The reconciler's loop guards: the persisted attempt counter (daemon/attempts.hpp), the halt it
// trips, and the health checks run again on the generation an automatic rollback restored.
#include "apply/units.hpp"
#include "daemon/attempts.hpp"
#include "daemon/isolated.hpp"
#include "daemon/log.hpp"
#include "daemon/reconciler.hpp"
#include "daemon/facts.hpp"
#include "health/probes.hpp"
#include "health/runner.hpp"
#include "manifest/render.hpp"
#include "util/host.hpp"

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

Status Reconciler::recheck_restored(const Generation &restored, const Generation &failed, SystemdManager *sd) {
    std::string gen = std::to_string(restored.info.number);
    // The restored generation's [[check]]s, rendered again from its commit (still in the Git
    // cache: kept generations keep their commits there).
    std::vector<CheckSpec> specs;
    if (!restored.info.commit.empty()) {
        RenderOptions ro;
        ro.host_path = cfg_.source.path;
        ro.max_files = cfg_.apply.max_files;
        ro.max_file_size = cfg_.apply.max_file_size;
        ro.protect = cfg_.apply.protect;
        ro.facts = facts_.empty() ? host_facts() : facts_;
        set_var(ro.facts, "fjord.commit", VarValue::string(restored.info.commit));
        set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(restored.info.number)));
        ro.decrypt = decryptor();
        ro.secret_digest = digester();
        auto d = render_isolated(*source_, restored.info.commit, ro);
        if (!d) return fail(d.error().context("generation " + gen + ": its checks cannot be read"));
        specs = std::move(d->checks);
    }
    for (const auto &c : specs)
        if (!c.unit.empty() && !sd)
            if (auto m = systemd(); m) sd = *m;
    // Implicitly, every unit the rollback started or restarted: those that differ between the
    // two generations, or whose files did.
    std::vector<std::string> units;
    if (sd) {
        std::set<std::string> changed;
        for (const auto &[p, f] : failed.files) {
            auto it = restored.files.find(p);
            if (it == restored.files.end() || it->second.spec.id != f.spec.id) changed.insert(p);
        }
        for (const auto &[p, f] : restored.files)
            if (!failed.files.count(p)) changed.insert(p);
        for (const auto &s : plan_units(failed, restored, changed).after)
            if (s.kind == UnitStep::start || s.kind == UnitStep::restart) units.push_back(s.unit);
    }
    auto checks = build_checks(specs, sd, units, &podman(), &restored.containers);
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
