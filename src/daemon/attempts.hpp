#pragma once
// The persisted attempt counter that stops apply/rollback loops. Before each apply of a commit
// (and the automatic rollback inside it) fjord writes "COMMIT COUNT" to state.dir; a generation
// marked good (or a restored generation that passes its checks again) clears it. An attempt that
// never finished (fjordd killed mid-apply or mid-rollback, then restarted) leaves the count up,
// so a commit that keeps crashing the host is not tried forever: after max_attempts attempts
// fjord halts applies until the operator says so (fjordctl resume, fjordctl sync --retry).
// Recovering an interrupted transaction is never counted nor blocked.
#include "util/result.hpp"
#include <cstdint>
#include <string>
#include <string_view>

namespace fjord {

/// Attempts on one commit since the last generation marked good.
struct Attempts {
    std::string commit;
    std::uint32_t count = 0;
    friend bool operator==(const Attempts &, const Attempts &) = default;
};

/// Unfinished attempts on the same commit after which applies halt.
inline constexpr std::uint32_t max_attempts = 3;

/// Parses the flag's text ("COMMIT COUNT"); anything malformed (or "") is no attempt at all.
[[nodiscard]] Attempts parse_attempts(std::string_view text);
/// The flag's text for `a`.
[[nodiscard]] std::string format_attempts(const Attempts &a);
/// The counter once an attempt on `commit` starts: one more on the same commit, else 1.
[[nodiscard]] Attempts next_attempt(const Attempts &a, const std::string &commit);
/// "" when attempt `a` may go ahead; otherwise why applies halt (a one-line reason for status).
[[nodiscard]] std::string trip_reason(const Attempts &a);

/// Whether an apply's failure is shown to be transient (the remote or a registry unreachable,
/// the host short of disk or memory, a service such as podman down, a system call failing on
/// the host): retried with backoff. Any other failure of an apply (bad content, a unit systemd
/// refuses, a failing check or hook) is the commit's own, whatever layer failed: quarantined.
[[nodiscard]] bool transient(Errc code);

/// A commit held back after a transient failure, until `until` (steady-clock seconds).
struct Backoff {
    std::string commit;
    std::int64_t until = 0;
    std::int64_t delay = 0; ///< seconds; doubles with each failure on the same commit
    std::string why;        ///< the last failure, for status while waiting
};

/// The longest wait between tries of one commit.
inline constexpr std::int64_t max_backoff_seconds = 3600;

/// The backoff after one more transient failure of `commit` at `now`: the poll interval
/// (`base`, at least 1 s) for the first, then twice the last delay, up to max_backoff_seconds.
[[nodiscard]] Backoff next_backoff(const Backoff &b, const std::string &commit, std::int64_t now, std::int64_t base,
                                   std::string why);
/// Seconds until `commit` may be tried again (0: now).
[[nodiscard]] std::int64_t backoff_left(const Backoff &b, const std::string &commit, std::int64_t now);

/// Deaths of the render child on one commit after which the commit is marked bad: a commit
/// that always crashes the renderer (a bomb) costs at most this many renders.
inline constexpr std::uint32_t max_render_deaths = 2;

/// Whether an error rendering or checking a commit is the commit's own fault (bad content,
/// a path it may not write: Errc::invalid, Errc::refused), so it is marked bad, or a restored
/// generation's checks failed for real. Anything else (the render sandbox's timeout, CPU or
/// memory limit, a failed fork, I/O, the network) is this attempt's failure: retried.
[[nodiscard]] bool commit_at_fault(Errc code);

} // namespace fjord
