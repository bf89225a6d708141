// Hooks, and the guards the reconciler runs around an apply: validate before it, pre-apply
// hooks, post-apply hooks as part of verification, post-rollback hooks after an automatic
// rollback. reconciler.cpp only calls these.
#include "daemon/hooks.hpp"

#include "apply/commands.hpp"
#include "apply/transaction.hpp"
#include "daemon/control.hpp"
#include "daemon/log.hpp"
#include "health/probes.hpp"
#include <algorithm>
#include "daemon/reconciler.hpp"
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
        if (!r) {
            log_msg(LogLevel::error, msgid::hook, name + ": " + r.error().message, {{"COMMIT", env.commit}, {"GENERATION", gen}});
            return fail(when == "pre-apply" ? Errc::refused : Errc::invalid, name + ": " + r.error().message);
        }
        // A hook may print a secret it read: with secret files in the generation its output is
        // never logged, kept in history or status, or sent anywhere.
        std::string out = env.hide_output ? (r->output.empty() ? "" : std::string("(") + secret_output_hidden + ")") : r->shown_output();
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

std::vector<std::string> hook_variables(const HookEnv &env) {
    return {"FJORD_COMMIT=" + env.commit, "FJORD_PREVIOUS_COMMIT=" + env.previous_commit,
            "FJORD_GENERATION=" + std::to_string(env.generation), "FJORD_RESULT=" + env.result, "FJORD_ROOT=" + env.root};
}

bool has_secrets(const DesiredState &d) {
    return std::any_of(d.files.begin(), d.files.end(), [](const auto &f) { return f.second.secret; });
}

HookEnv Reconciler::hook_env(const DesiredState &desired, const Generation &cur, const Plan &plan, const char *result) const {
    // The generation the host is on counts too: a commit that drops a secret runs its pre-apply
    // hooks while the plaintext is still on the host, and its post-rollback hooks after the
    // rollback has put it back.
    bool secrets = has_secrets(desired) ||
                   std::any_of(cur.files.begin(), cur.files.end(), [](const auto &f) { return f.second.spec.secret; });
    return HookEnv{desired.commit, cur.info.commit, plan.next.info.number, result, cfg_.apply.root, secrets};
}

Status Reconciler::guard_apply(const DesiredState &desired, const Generation &cur, Plan &plan) {
    guard_refused_ = false;
    ValidateContext vc{[this](const std::string &id, std::uint64_t max) { return stored_content(store_, source_.get(), id, max); },
                       runtime_dir(cfg_) + "/validate", cfg_.apply.max_file_size, decryptor(), cfg_.apply.root};
    if (auto s = validate_files(vc, plan, desired); !s) {
        guard_refused_ = s.error().code == Errc::invalid;
        if (guard_refused_) {
            // Nothing touched the host; history still shows the generation and why it was refused.
            plan.next.info.time = std::time(nullptr);
            plan.next.info.outcome = Outcome::refused;
            plan.next.info.message = s.error().message;
            if (auto w = store_.save(plan.next); !w) log_warning("record refused generation: " + w.error().message + ", ignoring");
        }
        return s;
    }
    if (auto s = run_hooks(desired.hooks, "pre-apply", hook_env(desired, cur, plan, "pending")); !s) {
        guard_refused_ = true;
        return fail(s.error().code, s.error().message + "; nothing was changed (tried again at the next poll)");
    }
    return {};
}

void Reconciler::remove_validate_staging() {
    // Staging holds only symlinks to fjordd's memfds now (apply/commands.hpp); an older fjord
    // staged copies, maybe a secret's plaintext, in STATE/validate: both go at every start.
    for (const std::string &dir : {store_.path("validate"), runtime_dir(cfg_) + "/validate"}) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        if (ec) log_warning("remove " + dir + ": " + ec.message() + ", ignoring");
    }
}

std::optional<GenerationInfo> Reconciler::attempted() const {
    if (attempt_gen_ == 0) return std::nullopt;
    // Numbers are taken as the highest in the store plus one: an entry under this number was
    // saved by this very attempt.
    auto info = store_.load_info(attempt_gen_);
    if (!info) return std::nullopt;
    return std::move(*info);
}

void Reconciler::after_failed_apply(const DesiredState &desired, const Generation &cur, const Plan &plan) {
    auto info = store_.load_info(plan.next.info.number);
    if (!info || info->outcome != Outcome::rolled_back) return; // it never touched the host
    // Logged only: the rollback is done, and a failing notification must not undo it.
    (void)run_hooks(desired.hooks, "post-rollback", hook_env(desired, cur, plan, "rolled-back"));
}

} // namespace fjord
