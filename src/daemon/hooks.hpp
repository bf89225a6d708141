#pragma once
// [[hook]]s: the operator's own commands around an apply (pre-apply, post-apply, post-rollback),
// run through util/command and logged to the journal with their output (MESSAGE_ID hook).
#include "control/report.hpp"
#include "health/check.hpp"
#include "manifest/desired_state.hpp"
#include "plan/generation.hpp"
#include "util/result.hpp"
#include <chrono>
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
    std::vector<StepRecord> *steps = nullptr; ///< when given, each hook run is added (the generation's report)
};

/// The results of a run of health checks, as the generation's report keeps them: each check's
/// last result, its attempts, the time until it passed or last failed, its bounded output.
class CheckTally {
  public:
    /// One attempt of check `c` (run_checks' on_attempt).
    void seen(const Check &c, const ProbeResult &res);
    /// The checks seen, in the order first seen, added to `steps` as kind `kind`; `hide`: the
    /// generation has secret files (their outputs are not kept).
    void add_to(std::vector<StepRecord> &steps, const std::string &kind, bool hide) const;

  private:
    struct One {
        std::string name;
        std::size_t attempts = 0;
        bool ok = false;
        std::string detail;
        std::int64_t ms = 0;
    };
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::vector<One> seen_;
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
