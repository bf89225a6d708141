#pragma once
// The repo's own commands that guard a transaction: `validate` of [file] tables, run on a staged
// copy before anything of the generation touches the host, and `pre_restart` of [unit] tables,
// run after the files are in place and before the unit is started, restarted or reloaded.
// Both run through util/command (argv, clean environment, own process group, bounded output).
#include "plan/units.hpp"
#include "plan/plan.hpp"
#include "util/tree.hpp"
#include "util/command.hpp"
#include <functional>

namespace fjord {

/// The time a validate or pre_restart command gets (a hook sets its own `timeout`).
inline constexpr std::chrono::milliseconds guard_command_timeout{30'000};

/// What staging a file for its validate command needs.
struct ValidateContext {
    /// Content by blob id (the object store, then the Git cache: apply/transaction.hpp).
    std::function<Result<std::string>(const std::string &id, std::uint64_t max)> content;
    /// A folder in memory (the runtime directory); made 0700, removed after. It holds only
    /// symlinks: each staged file's bytes live in a memfd of fjordd's, gone when fjordd is.
    std::string staging;
    std::uint64_t max_file_size = 64ull << 20;
    /// A secret's plaintext from its ciphertext (as ApplyContext::decrypt).
    std::function<Result<std::string>(std::string_view ciphertext, const std::string &origin)> decrypt = {};
    std::string root = "/";              ///< apply.root, passed as FJORD_ROOT
};

/// Runs the validate command of every file that `plan` writes, on a staged copy of the
/// rendered content ("%s" in an argument becomes the staged path). The first failure is an
/// Errc::invalid error naming the host path, the command, its status and (except for a
/// secret, whose validator may echo it) its output. Nothing under apply.root is touched. The
/// files' specs are plan.next's (make_plan may have taken them out of `desired`); rendered
/// content comes from desired.blobs.
[[nodiscard]] Status validate_files(const ValidateContext &ctx, const Plan &plan, const DesiredState &desired);

/// Runs the pre_restart command of each unit that `steps` start, restart or reload, before any
/// of those steps. The first failure is an Errc::invalid error naming the unit and the output
/// (the exit status only when the generation has any secret file).
[[nodiscard]] Status run_pre_restart(const Generation &next, const std::vector<UnitStep> &steps, const std::string &root);

/// A command's failure as one line: "visudo -cf %s: exit status 1: <output>" (output flattened,
/// lines joined by " | "); when `hidden` is not empty the output is left out and `hidden` says
/// why, in parentheses.
[[nodiscard]] std::string command_failure(const std::vector<std::string> &argv, const CommandResult &r, std::string_view hidden = {});

} // namespace fjord
