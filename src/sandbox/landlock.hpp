#pragma once
// Landlock (the kernel's unprivileged file-system sandbox) for the sandboxed children
// (sandbox/sandbox.hpp): file writes only beneath one folder, reads everywhere. Raw system calls
// (Debian has no liblandlock); best effort, as seccomp cannot see paths and Landlock can.
#include "util/result.hpp"
#include "util/unique_fd.hpp"
#include <string>
#include <vector>

namespace fjord {

/// The running kernel's Landlock ABI version: 0 when Landlock is not built in or not enabled
/// (not in the active LSM list, or `lsm=` leaves it out). Asked once per process.
[[nodiscard]] int landlock_abi();

/// A ruleset that denies every file-system write (writing, truncating, creating, removing,
/// renaming, linking files and folders, ioctl on devices) except beneath `writable_dir` (none
/// when empty) and each of `more_dirs`, and, where the ABI has them, TCP bind, abstract unix sockets and signals
/// outside the sandbox. An empty descriptor when Landlock is unavailable. Made in the parent;
/// the child only enforces it.
[[nodiscard]] Result<unique_fd> landlock_ruleset(const std::string &writable_dir, const std::vector<std::string> &more_dirs = {});

/// In the child: restricts the calling thread (and what it starts) to `ruleset`. Needs
/// no_new_privs. Async-signal-safe; returns 0 or an errno value.
[[nodiscard]] int landlock_enforce(int ruleset) noexcept;

} // namespace fjord
