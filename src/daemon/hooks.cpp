// Hooks: the operator's own commands around an apply, run through util/command and logged to
// the journal with their output (hidden when the generation has secret files).
#include "daemon/hooks.hpp"

#include "apply/commands.hpp"
#include "daemon/log.hpp"
#include "health/probes.hpp"
#include <algorithm>
#include <ctime>
#include <filesystem>

namespace fjord {

Status run_hooks(const std::vector<HookSpec> &hooks, std::string_view when, const HookEnv &env) {
    std::size_t n = 0;
    for (const auto &h : hooks) {
        ++n;
        if (h.when != when) continue;
        std::string name = "hook " + std::string(when) + " [" + std::to_string(n) + "] " + shown_argv(h.exec);
        Command cmd;
        cmd.argv = h.exec;
        cmd.timeout = std::chrono::milliseconds(h.timeout_ms);
        cmd.env = hook_variables(env);
        auto r = run_command(cmd);
        std::string gen = std::to_string(env.generation);
        if (!r && env.steps) env.steps->push_back({"hook " + std::string(when), shown_argv(h.exec), "not started", 0, bounded(r.error().message, max_output_bytes)});
        if (!r) {
            log_msg(LogLevel::error, msgid::hook, name + ": " + r.error().message, {{"COMMIT", env.commit}, {"GENERATION", gen}});
            return fail(when == "pre-apply" ? Errc::refused : Errc::invalid, name + ": " + r.error().message);
        }
        // A hook may print a secret it read: with secret files in the generation its output is
        // never logged, kept in history or status, or sent anywhere.
        std::string out = env.hide_output ? (r->output.empty() ? "" : std::string("(") + secret_output_hidden + ")") : r->shown_output();
        if (env.steps)
            env.steps->push_back({"hook " + std::string(when), shown_argv(h.exec), r->status(), static_cast<std::int64_t>(r->took.count()),
                                  bounded(out, max_output_bytes)});
        log_msg(r->ok() ? LogLevel::info : LogLevel::error, msgid::hook,
                name + ": " + r->status() + (r->end == CommandResult::End::timed_out ? "" : " in " + std::to_string(r->took.count()) + " ms") +
                    (out.empty() ? "" : ":\n" + out),
                {{"COMMIT", env.commit}, {"GENERATION", gen}, {"HOOK", std::string(when)}});
        if (!r->ok()) return fail(when == "pre-apply" ? Errc::refused : Errc::invalid, "hook " + std::string(when) + " [" +
                                                              std::to_string(n) + "] " +
                                                              command_failure(h.exec, *r, env.hide_output && !r->output.empty() ? secret_output_hidden : ""));
    }
    return {};
}

void CheckTally::seen(const Check &c, const ProbeResult &res) {
    std::string name = c.name + " " + c.probe->target();
    auto it = std::find_if(seen_.begin(), seen_.end(), [&](const One &o) { return o.name == name; });
    if (it == seen_.end()) {
        One o;
        o.name = name;
        it = seen_.insert(seen_.end(), std::move(o));
    }
    ++it->attempts;
    it->ok = res.ok;
    it->detail = res.detail;
    it->ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
}

void CheckTally::add_to(std::vector<StepRecord> &steps, const std::string &kind, bool hide) const {
    for (const auto &o : seen_) {
        std::string tries = o.attempts == 1 ? "1 attempt" : std::to_string(o.attempts) + " attempts";
        std::string out = hide && !o.detail.empty() ? std::string("(") + secret_output_hidden + ")" : bounded(o.detail, max_output_bytes);
        steps.push_back({kind, o.name, (o.ok ? "passed (" : "failed (") + tries + ")", o.ms, std::move(out)});
    }
}

std::vector<std::string> hook_variables(const HookEnv &env) {
    return {"FJORD_COMMIT=" + env.commit, "FJORD_PREVIOUS_COMMIT=" + env.previous_commit,
            "FJORD_GENERATION=" + std::to_string(env.generation), "FJORD_RESULT=" + env.result, "FJORD_ROOT=" + env.root};
}

bool has_secrets(const Generation &g) {
    return std::any_of(g.files.begin(), g.files.end(), [](const auto &f) { return f.second.spec.secret; });
}

HookEnv hook_env(const Generation &next, const Generation &cur, std::string result, const std::string &root) {
    return HookEnv{next.info.commit, cur.info.commit, next.info.number, std::move(result), root, has_secrets(next) || has_secrets(cur)};
}

} // namespace fjord
