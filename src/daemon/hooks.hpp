#pragma once
// [[hook]]s: the operator's own commands around an apply (pre-apply, post-apply, post-rollback),
// run through util/command and logged to the journal with their output (MESSAGE_ID hook).
#include "manifest/desired_state.hpp"
#include "plan/generation.hpp"
#include "util/result.hpp"
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// What a hook is told, as FJORD_* environment variables.
struct HookEnv {
    std::string commit;          ///< FJORD_COMMIT: the commit being applied
    std::string previous_commit; ///< FJORD_PREVIOUS_COMMIT: the current generation's commit ("" at first)
    std::uint64_t generation = 0; ///< FJORD_GENERATION: the generation being applied
    std::string result;          ///< FJORD_RESULT: pending (pre-apply), applied (post-apply), rolled-back
    std::string root = "/";      ///< FJORD_ROOT: apply.root
    bool hide_output = false;    ///< the generation has secret files: output never logged or kept
};

/// True when any file of generation `g` is a secret (decrypted from .age).
[[nodiscard]] bool has_secrets(const Generation &g);
/// The hooks' environment for applying `next` (a plan's next generation: its number and commit
/// set) over `cur`: output hidden when either side has secret files (the restored side's are
/// back in place).
[[nodiscard]] HookEnv hook_env(const Generation &next, const Generation &cur, std::string result, const std::string &root);
/// The FJORD_* variables of `env` ("NAME=value"), as hooks and exec checks get them.
[[nodiscard]] std::vector<std::string> hook_variables(const HookEnv &env);

/// Runs every hook of kind `when`, in the order the manifest gives them, each logged with its
/// output. The first failure stops the rest and is returned: "hook post-apply [2] /x: exit
/// status 1: output". Errc::refused for pre-apply (a gate: tried again at the next poll),
/// Errc::invalid otherwise.
[[nodiscard]] Status run_hooks(const std::vector<HookSpec> &hooks, std::string_view when, const HookEnv &env);

} // namespace fjord
