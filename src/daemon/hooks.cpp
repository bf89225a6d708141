// Hooks, and the guards the reconciler runs around an apply: validate before it, pre-apply
// hooks, post-apply hooks as part of verification, post-rollback hooks after an automatic
// rollback. reconciler.cpp only calls these.
#include "daemon/hooks.hpp"

#include "apply/commands.hpp"
#include "daemon/log.hpp"
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
        cmd.env = {"FJORD_COMMIT=" + env.commit, "FJORD_PREVIOUS_COMMIT=" + env.previous_commit,
                   "FJORD_GENERATION=" + std::to_string(env.generation), "FJORD_RESULT=" + env.result, "FJORD_ROOT=" + env.root};
        auto r = run_command(cmd);
        std::string gen = std::to_string(env.generation);
        if (!r) {
            log_msg(LogLevel::error, msgid::hook, name + ": " + r.error().message, {{"COMMIT", env.commit}, {"GENERATION", gen}});
            return fail(when == "pre-apply" ? Errc::refused : Errc::invalid, name + ": " + r.error().message);
        }
        std::string out = r->shown_output();
        log_msg(r->ok() ? LogLevel::info : LogLevel::error, msgid::hook,
                name + ": " + r->status() + (r->end == CommandResult::End::timed_out ? "" : " in " + std::to_string(r->took.count()) + " ms") +
                    (out.empty() ? "" : ":\n" + out),
                {{"COMMIT", env.commit}, {"GENERATION", gen}, {"HOOK", std::string(when)}});
        if (!r->ok()) return fail(when == "pre-apply" ? Errc::refused : Errc::invalid, "hook " + std::string(when) + " [" +
                                                              std::to_string(n) + "] " + command_failure(h.exec, *r));
    }
    return {};
}

HookEnv Reconciler::hook_env(const DesiredState &desired, const Generation &cur, const Plan &plan, const char *result) const {
    return HookEnv{desired.commit, cur.info.commit, plan.next.info.number, result, cfg_.apply.root};
}

Status Reconciler::guard_apply(const DesiredState &desired, const Generation &cur, Plan &plan) {
    guard_refused_ = false;
    ValidateContext vc{*source_, store_.path("validate"), cfg_.apply.max_file_size, decryptor(), cfg_.apply.root};
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
    // A crash or power loss during a validate command leaves its staged copy, maybe a secret's
    // plaintext, in STATE/validate: gone at every start, under the state lock.
    std::error_code ec;
    std::filesystem::remove_all(store_.path("validate"), ec);
    if (ec) log_warning("remove " + store_.path("validate") + ": " + ec.message() + ", ignoring");
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
