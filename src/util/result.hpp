#pragma once
// Errors are values: every fallible call returns Result<T>. An Error gains context as it
// rises ("apply generation 7: write /etc/nginx/nginx.conf: No space left on device"), and
// only daemon/ and cli/ turn it into a log line or a message.
#include <cerrno>
#include <cstring>
#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace fjord {

/// Broad classes of failure; callers branch on these, humans read the message.
enum class Errc {
    ok = 0,
    io,          ///< a system call failed (errno in the message)
    invalid,     ///< bad input: config, manifest, repo content
    refused,     ///< refused for safety: protect, a folder or symlink in the way on the host
    guardrail,   ///< a guardrail the operator may lift once (max_deletions, force-push)
    not_found,
    network,     ///< the Git remote could not be reached or answered badly
    auth,        ///< authentication or host key verification failed
    busy,        ///< another fjord holds the state lock
    unavailable, ///< the host lacks something for now (disk full, no memory, a service down): retried with backoff
    corrupt,     ///< fjord's own data is damaged (the Git cache): repaired, then the step is tried again
    killed,      ///< a sandboxed child died by a limit or a signal (time, CPU, memory, output, crash)
    internal,    ///< (keep last: the sandbox's answers are checked against it)
};

/// The class's name, as tests and tools print it: "io", "not_found", ...
[[nodiscard]] inline const char *to_string(Errc c) {
    switch (c) {
    case Errc::ok: return "ok";
    case Errc::io: return "io";
    case Errc::invalid: return "invalid";
    case Errc::refused: return "refused";
    case Errc::guardrail: return "guardrail";
    case Errc::not_found: return "not_found";
    case Errc::network: return "network";
    case Errc::auth: return "auth";
    case Errc::busy: return "busy";
    case Errc::unavailable: return "unavailable";
    case Errc::corrupt: return "corrupt";
    case Errc::killed: return "killed";
    case Errc::internal: return "internal";
    }
    return "?";
}

/// Whether errno `err` says the host lacks something for now rather than that the request is
/// wrong: these become Errc::unavailable, retried with backoff, never blamed on a commit.
[[nodiscard]] inline bool host_resource_errno(int err) {
    switch (err) {
    case ENOSPC: case EDQUOT: case ENOMEM: case EAGAIN: case ENFILE: case EMFILE: case EINTR: case ETIMEDOUT:
    case ECONNREFUSED: case ECONNRESET: case EIO: case EROFS: case EBUSY: case ETXTBSY: case ENOBUFS:
        return true;
    default:
        return false;
    }
}

/// An error: a class and a message that reads as one line.
struct Error {
    Errc code = Errc::internal;
    std::string message;

    /// Prefix the message with what the caller was doing ("apply generation 7: ...").
    [[nodiscard]] Error context(const std::string &what) const & { return {code, what + ": " + message}; }
    [[nodiscard]] Error context(const std::string &what) && {
        return {code, what + ": " + std::move(message)};
    }
};

template <class T> using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

/// Builds the unexpected value of a Result from a class and a message.
[[nodiscard]] inline tl::unexpected<Error> fail(Errc code, std::string message) {
    return tl::make_unexpected(Error{code, std::move(message)});
}
/// Forwards an Error as the unexpected value of a Result.
[[nodiscard]] inline tl::unexpected<Error> fail(Error e) { return tl::make_unexpected(std::move(e)); }
/// An io error from errno: "WHAT: strerror(errno)".
[[nodiscard]] inline tl::unexpected<Error> fail_errno(const std::string &what, int err = errno) {
    return fail(host_resource_errno(err) ? Errc::unavailable : Errc::io, what + ": " + std::strerror(err));
}

} // namespace fjord

/// Propagates the error of an expression returning Result/Status, with optional context.
#define FJORD_TRY(expr)                                                                            \
    do {                                                                                           \
        auto fjord_try_r_ = (expr);                                                                \
        if (!fjord_try_r_) return ::fjord::fail(std::move(fjord_try_r_.error()));                 \
    } while (0)
