#pragma once
// Runs a piece of work on untrusted input (the Git transfer, the tree walk and rendering) in a
// forked child under a seccomp allow-list (sandbox/seccomp.hpp), and hands its answer back over a
// pipe. The parent bounds the answer's size and the child's time, and turns every way the child
// can end (done, error, forbidden system call, crash, timeout, too much output, garbage) into a
// Result with a clear message.
#include "util/result.hpp"
#include "sandbox/seccomp.hpp"
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace fjord {

/// How much a sandboxed child may take.
struct SandboxLimits {
    std::chrono::milliseconds timeout{60'000}; ///< wall time, then SIGKILL
    std::uint64_t max_output = 64ull << 20;    ///< bytes of answer; more kills the child
    std::uint64_t max_memory = 0;              ///< RLIMIT_AS in bytes; 0 = unchanged
    std::uint64_t cpu_seconds = 0;             ///< RLIMIT_CPU; 0 = unchanged
    bool no_file_writes = false;               ///< RLIMIT_FSIZE = 0
    /// Landlock, where the kernel has it: file writes only beneath this folder (the Git cache);
    /// empty: none anywhere. Reads are not restricted.
    std::string writable_dir;
    /// A descriptor the child keeps besides its answer pipe (-1: none): the socket to a
    /// transport process fjordd spawned for it (the gate check's ssh or git-upload-pack).
    int keep_fd = -1;
};

/// The work a child does: its answer as bytes, or an error (code and message travel back).
using SandboxWork = std::function<Result<std::string>()>;

/// Forks; in the child: fds 0-2 to /dev/null, every inherited descriptor that is not a regular
/// file or folder closed, the Landlock ruleset (limits.writable_dir) and `profile`'s seccomp
/// filter installed (with no_new_privs, PR_SET_PDEATHSIG and no core dumps); runs `work` there
/// and returns its answer. Without Landlock in the kernel it goes on with seccomp alone (fjordd
/// says so once at start: landlock_abi()). `what` names the child in errors:
/// "render sandbox: child killed by forbidden system call socket (41)". The child's own error
/// comes back with its code, its message made printable and bounded.
[[nodiscard]] Result<std::string> run_sandboxed(const std::string &what, SeccompProfile profile,
                                                const SandboxLimits &limits, const SandboxWork &work);

} // namespace fjord
