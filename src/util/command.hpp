#pragma once
// Runs one command from the repo (a validate, pre_restart, hook or exec check) the way fjord
// runs every command: argv without a shell, a clean environment, stdin /dev/null, stdout and
// stderr into one bounded capture, no inherited descriptors, its own process group that is
// killed whole (SIGKILL) at the timeout, when the command exits, and when fjordd dies (a guard
// process leads the group for that), and a pidfd-based wait.
#include "util/result.hpp"
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace fjord {

/// What to run.
struct Command {
    std::vector<std::string> argv;           ///< argv[0] is looked up in the fixed PATH below unless it has a '/'
    std::vector<std::string> env;            ///< "NAME=value" on top of PATH and LANG
    std::chrono::milliseconds timeout{30'000};
    std::size_t max_output = 4096;           ///< bytes of output kept; the rest is counted, not kept
};

/// The environment every command starts from (nothing of fjordd's own is passed on).
inline constexpr const char *command_path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
inline constexpr const char *command_lang = "LANG=C";

/// Says why a command's output is left out of what fjord logs and keeps: with secret files in
/// the generation, a validate, pre_restart, hook or exec check may print what it read.
inline constexpr const char *secret_output_hidden = "output hidden: this generation has secret files; run the command by hand to see it";

/// How a command ended.
struct CommandResult {
    enum class End { exited, signaled, timed_out } end = End::exited;
    int code = 0;             ///< exit status (exited) or signal number (signaled)
    std::string output;       ///< stdout and stderr, interleaved, the first max_output bytes
    bool truncated = false;   ///< more output came than was kept
    std::chrono::milliseconds took{0};
    std::chrono::milliseconds timeout{0};

    [[nodiscard]] bool ok() const { return end == End::exited && code == 0; }
    /// "exit status 3", "killed by signal 9", "timed out after 300 ms".
    [[nodiscard]] std::string status() const;
    /// The output for a log line: trailing blanks dropped, "…(truncated)" when cut short.
    [[nodiscard]] std::string shown_output() const;
};

/// Runs `cmd` to its end or its timeout. An error only when it could not be started at all
/// (no pipe, no fork); a program that cannot be executed exits 127 with "cannot execute".
[[nodiscard]] Result<CommandResult> run_command(const Command &cmd);

/// "visudo -cf /x" for messages: argv joined by blanks, arguments with blanks or quotes quoted.
[[nodiscard]] std::string shown_argv(const std::vector<std::string> &argv);

} // namespace fjord
