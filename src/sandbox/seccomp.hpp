#pragma once
// Allow-list seccomp filters for the children that handle the untrusted repository
// (sandbox/sandbox.hpp). Built with libseccomp in the parent, installed as raw BPF in the child,
// so the child does no allocation and no filter compilation after fork().
#include "util/result.hpp"
#include <string>

namespace fjord {

/// What a sandboxed child may do besides computing.
enum class SeccompProfile {
    /// The remote's ref advertisement: network (AF_INET/AF_INET6 sockets, DNS; other socket
    /// families fail with EAFNOSUPPORT), a few ioctl requests, files opened read-only, no
    /// file-writing call, no threads, no execve.
    poll,
    /// Git transfer: poll's network, plus file writes (the Git cache; modes never setuid or
    /// setgid) and threads; no execve, no new processes.
    fetch,
    /// Tree walk, TOML, templates, age: files opened read-only, writes only to `out_fd`, no
    /// network, no execve.
    render,
};

/// The profile's name as messages show it ("poll", "fetch", "render").
[[nodiscard]] const char *seccomp_profile_name(SeccompProfile p);

/// The BPF program of `profile` (struct sock_filter[], as bytes). `out_fd` is the one descriptor
/// the render profile may write to. Anything not allowed raises SIGSYS in the child (SECCOMP_RET_TRAP).
[[nodiscard]] Result<std::string> seccomp_program(SeccompProfile profile, int out_fd);

/// In the child: sets no_new_privs and installs `program`. Async-signal-safe (no allocation);
/// returns 0 or an errno value.
[[nodiscard]] int seccomp_install(const std::string &program) noexcept;

/// The name of system call `nr` on this architecture ("socket"), or "" when unknown.
[[nodiscard]] std::string syscall_name(int nr);

} // namespace fjord
