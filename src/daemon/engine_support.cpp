// What the engine's stages share: the current generation, systemd and podman made on first
// use, the render of a commit (fjord.generation's rule), a plan's checks, the checks
// of a restored generation run again, and what follows a generation marked good.
#include "config/own_paths.hpp"
#include "daemon/attempts.hpp"
#include "daemon/engine.hpp"
#include "daemon/hooks.hpp"
#include "daemon/log.hpp"
#include "facts/host_facts.hpp"
#include "facts/render_options.hpp"
#include "manifest/validate.hpp"
#include "version.hpp"
#include "health/runner.hpp"
#include "plan/units.hpp"
#include "util/hash.hpp"
#include <algorithm>
#include <filesystem>
#include <limits>
#include <malloc.h>

namespace fjord {

Result<const Generation *> Engine::current_generation(std::uint64_t n) {
    if (!cur_cache_ || cur_cache_->info.number != n) {
        cur_cache_.reset();
        auto g = store_.load(n);
        if (!g) return fail(std::move(g.error()));
        cur_cache_ = std::move(*g);
        ::malloc_trim(0); // what reading it freed (its record's text): not held through the run
    }
    return &*cur_cache_;
}

Result<SystemdManager *> Engine::systemd() {
    if (systemd_) return systemd_.get();
    // With apply.root other than "/" and no systemd.bus, unit files are written, not activated.
    if (cfg_.systemd.bus.empty() && cfg_.apply.root != "/") return static_cast<SystemdManager *>(nullptr);
    auto m = ports_.systemd(cfg_);
    if (!m) return fail(std::move(m.error()));
    systemd_ = std::move(*m);
    return systemd_.get();
}

Podman &Engine::podman() {
    // Making it connects nothing: hosts without podman and without containers never reach it.
    if (!podman_) podman_ = ports_.podman(cfg_);
    return *podman_;
}

Repo &Engine::repo() { return *repo_; }

std::string Engine::render_key() const {
    const Config &c = cfg_;
    // The settings that shape what a commit renders to; when they change, the same commit must
    // be rendered and planned again (a new source.path, a lifted limit, another root), and so
    // must a new choice of image automation.
    std::string k = c.source.url + "\n" + c.source.branch + "\n" + c.source.tag + "\n" + c.source.path + "\n" + c.apply.root +
                    "\n" + (c.apply.prune ? "1" : "0") + "\n" + std::to_string(c.apply.max_deletions) + "\n" +
                    std::to_string(c.apply.max_files) + "\n" + std::to_string(c.apply.max_file_size);
    for (const auto &p : c.apply.protect) k += "\n" + p;
    std::string images = images_.key();
    if (!images.empty()) k += "\nimages\n" + images;
    // Another fjord may render a commit otherwise: the first render after an upgrade is whole.
    k += "\nfjord " FJORD_VERSION;
    return blob_id(k);
}

RenderOptions Engine::render_options_for(const Generation &cur) const {
    RenderOptions ro = render_options(cfg_);
    // What the current generation holds passed the same limits (render settings unchanged): a
    // render costs a map lookup per unchanged file, not a read.
    if (rec_.status().render_key == render_key())
        ro.vetted = [&cur](const std::string &path, const std::string &id) {
            auto it = cur.files.find(path);
            return it != cur.files.end() && it->second.spec.id == id;
        };
    secrets_.give(ro);
    return ro;
}

// fjord.generation is the number of the generation that holds the rendered content. Rendered
// first with the current number: when that equals the current generation, nothing changed
// (whatever the templates say) and no generation is made. Only when something else changed
// is it rendered again with the number the new generation will get. So a template using
// fjord.generation costs one generation per real change, never one per poll.
Result<DesiredState> Engine::render_commit(const std::string &commit, const Generation &cur,
                                           const std::function<void(DesiredState &)> &adjust) {
    RenderOptions ro = render_options_for(cur);
    std::set<std::string> used;
    ro.facts = facts_.empty() ? ports_.facts() : facts_;
    ro.facts_used = &used;
    std::uint64_t n = cur.info.number;
    if (n == 0) {
        auto next = store_.next_number();
        if (!next) return fail(std::move(next.error()));
        n = *next;
    }
    // Only what changed since the current generation's commit is walked and rendered again,
    // when that generation was rendered under today's settings; its files fill in the rest.
    if (cur.info.number != 0 && !cur.info.commit.empty() && cur.checks_kept && rec_.status().render_key == render_key()) {
        ro.base_commit = cur.info.commit;
        for (const auto &[path, af] : cur.files)
            if (af.spec.kind == FileKind::file && af.spec.origin.ends_with(".tmpl")) ro.base_templates.push_back(path);
    }
    auto once = [&]() -> Result<DesiredState> {
        ++rec_.status().renders_total;
        auto d = repo().render(commit, ro);
        if (d && d->partial) {
            ++rec_.status().partial_renders_total;
            // The rest of the set is the current generation's, checked and planned from there
            // (make_plan), never copied in: at 100,000 files that copy was ~45 MB.
            if (auto whole = check_partial(*d, cur, ro); !whole) return fail(std::move(whole.error()));
        }
        if (d && adjust) adjust(*d);
        return d;
    };
    set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(n)));
    auto desired = once();
    if (!desired || cur.info.number == 0 || !uses_generation(used)) return desired;
    auto plan = make_plan(cur, *desired, fs_, plan_options());
    if (plan && plan->empty()) return desired;
    auto next = store_.next_number();
    if (!next) return fail(std::move(next.error()));
    set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(*next)));
    return once();
}

ExecCheckContext Engine::exec_context(const Generation &g, const std::string &previous_commit, const char *result) const {
    bool secrets = has_secrets(g);
    return {hook_variables(HookEnv{g.info.commit, previous_commit, g.info.number, result, cfg_.apply.root, secrets}), secrets};
}

Result<std::vector<Check>> Engine::checks_for(const Plan &plan, const Generation &cur, const std::vector<CheckSpec> &specs,
                                              SystemdManager *sd, bool units_active, bool source_switch) {
    auto checks = build_checks(specs, sd, units_active ? units_started(plan) : std::vector<std::string>{}, &podman(),
                               &plan.next.containers, exec_context(plan.next, cur.info.commit, "applied"), ports_.probes);
    if (!checks) return fail(std::move(checks.error()));
    // The dead-man's switch: the remote answered the poll that started this sync, so if it does
    // not answer again within health.timeout, this generation cut the host off: roll it back.
    if (source_switch && cfg_.health.require_source_reachable) {
        Check c;
        c.name = "source";
        c.probe = function_probe("Git remote " + cfg_.source.url, [this](std::chrono::milliseconds) {
            auto h = repo().poll();
            // A missing branch is still an answer; a wrong server (host key, auth) is not.
            if (h || h.error().code == Errc::not_found) return ProbeResult{true, "answered"};
            return ProbeResult{false, h.error().message};
        });
        c.period = std::chrono::milliseconds(2'000);
        c.failure_threshold = std::numeric_limits<std::int64_t>::max(); // only health.timeout fails it
        checks->push_back(std::move(c));
    }
    return checks;
}

Result<std::vector<CheckSpec>> Engine::checks_of(const Generation &g) {
    if (g.checks_kept || g.info.commit.empty()) return g.checks;
    // A generation written before checks were kept: its [[check]]s are rendered again from its
    // commit (kept generations keep their commits in the Git cache).
    RenderOptions ro = render_options(cfg_);
    ro.facts = facts_.empty() ? ports_.facts() : facts_;
    set_var(ro.facts, "fjord.commit", VarValue::string(g.info.commit));
    set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(g.info.number)));
    secrets_.give(ro);
    auto d = repo().render(g.info.commit, ro);
    if (!d) return fail(d.error().context("generation " + std::to_string(g.info.number) + ": its checks cannot be read"));
    return std::move(d->checks);
}

bool Engine::recheck_restored(Run &r, const Generation &restored, const Generation &failed, SystemdManager *sd) {
    std::string gen = std::to_string(restored.info.number);
    Status s = [&]() -> Status {
        auto specs = checks_of(restored);
        if (!specs) return fail(std::move(specs.error()));
        for (const auto &c : *specs)
            if (!c.unit.empty() && !sd)
                if (auto m = systemd(); m) sd = *m;
        // Implicitly, every unit the rollback started, restarted or brought back to running.
        std::vector<std::string> units;
        if (sd) {
            std::set<std::string> changed;
            for (const auto &[p, f] : failed.files) {
                auto it = restored.files.find(p);
                if (it == restored.files.end() || it->second.spec.id != f.spec.id) changed.insert(p);
            }
            for (const auto &[p, f] : restored.files)
                if (!failed.files.count(p)) changed.insert(p);
            for (const auto &st : plan_units(failed, restored, changed, true).after)
                if (st.kind == UnitStep::start || st.kind == UnitStep::restart) units.push_back(st.unit);
        }
        auto checks = build_checks(*specs, sd, units, &podman(), &restored.containers, exec_context(restored, failed.info.commit, "rolled-back"),
                                   ports_.probes);
        if (!checks) return fail(checks.error().context("generation " + gen));
        if (checks->empty()) return {};
        if (on_progress) on_progress("checking restored generation " + gen + ": " + std::to_string(checks->size()) + " health checks");
        CheckTally tally;
        auto s = run_checks(*checks, ports_.clock(), cfg_.health.timeout, [&](const Check &c, const ProbeResult &res) {
            log_debug("restored generation " + gen + ": check " + c.name + ": " + c.probe->target() + ": " + res.detail);
            tally.seen(c, res);
        });
        tally.add_to(r.steps, "check of restored generation " + gen, has_secrets(restored));
        return s;
    }();
    // Only checks that ran and failed halt the host; a re-check that could not run (the render
    // sandbox's limits, I/O) says so and leaves applies going.
    bool failed_too = !s && commit_at_fault(s.error().code);
    r.history_note = s            ? "restored generation " + gen + " passed its health checks again"
                     : failed_too ? "restored generation " + gen + " failed its health checks too: " + s.error().message
                                  : "restored generation " + gen + " could not be checked again: " + s.error().message;
    LogFields f = {{"COMMIT", restored.info.commit}, {"GENERATION", gen}};
    if (s) log_msg(LogLevel::info, msgid::marked_good, r.history_note, f);
    else if (!failed_too) log_warning(r.history_note + "; not halted", f);
    else log_msg(LogLevel::error, msgid::health_failed, r.history_note, f);
    if (!failed_too) (void)store_.clear_flag("attempts"); // the rollback itself finished
    return !failed_too;
}

void Engine::after_failed_apply(Run &r) {
    auto info = store_.load_info(r.plan->next.info.number);
    if (!info || info->outcome != Outcome::rolled_back) return; // it never touched the host
    // Logged only: the rollback is done, and a failing hook must not undo it. With secret files
    // on either side (the restored generation's are back in place), output stays hidden.
    HookEnv env = hook_env(r.plan->next, *r.cur, "rolled-back", cfg_.apply.root);
    env.steps = &r.steps;
    (void)run_hooks(r.desired->hooks, "post-rollback", env);
}

void Engine::after_good(const Plan &plan, const ApplyReport &report) {
    AgentStatus &st = rec_.status();
    // Keep the generation's commit reachable in the cache, then forget what is no longer kept.
    if (!plan.next.info.commit.empty()) (void)repo().keep(std::to_string(plan.next.info.number), plan.next.info.commit);
    st.managed = plan.next.files.size();
    // Drift the pass could not correct was written (or dropped) by this apply.
    st.drifted -= std::min<std::size_t>(st.drifted, unrestorable_.size());
    unrestorable_.clear();
    StatCache stamps = store_.load_stat_cache();
    stamps.update(report.stamps);
    stamps.keep_only(plan.next.files);
    if (auto s = store_.save_stat_cache(stamps); !s) log_warning("save stat cache: " + s.error().message + ", ignoring");
    cur_cache_.reset(); // the next reader loads the new current generation
    auto before = store_.history();
    // Unused content is swept when a generation numbered a multiple of 8 goes (about once in 8
    // applies): finding it reads every path's record.
    if (auto s = store_.prune(cfg_.state.keep_generations, 8); !s) log_warning("prune generations: " + s.error().message + ", ignoring");
    if (before) {
        auto after = store_.history();
        for (const auto &g : *before) {
            bool kept = false;
            if (after)
                for (const auto &a : *after) kept = kept || a.number == g.number;
            if (!kept) (void)repo().unkeep(std::to_string(g.number));
        }
    }
}

std::uint32_t Engine::count_flag(const char *name, const std::string &commit) {
    Attempts a = next_attempt(parse_attempts(store_.flag(name)), commit);
    if (auto s = store_.set_flag(name, format_attempts(a)); !s) log_warning(std::string(name) + ": " + s.error().message + ", ignoring");
    return a.count;
}

void Engine::remove_validate_staging() {
    // Staging holds only links to fjordd's memfds (apply/commands.hpp); an older fjord staged
    // copies, maybe a secret's plaintext, in STATE/validate: both go at every start.
    for (const std::string &dir : {store_.path("validate"), runtime_dir(cfg_) + "/validate"}) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        if (ec) log_warning("remove " + dir + ": " + ec.message() + ", ignoring");
    }
}

} // namespace fjord
