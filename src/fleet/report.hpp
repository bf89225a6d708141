#pragma once
// A host's report in the status repository (issue 20): report.json in the tree of a root commit
// at refs/fjord/hosts/<host>, replaced by each push, and what a push sends with it (the marker
// and the refspecs). Pure: the JSON both ways, bounded, and the Git objects' bytes; the push
// itself runs in a sandboxed child (sandbox/report_isolated.hpp).
#include "fleet/marker.hpp"
#include "util/result.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fjord::fleet {

inline constexpr std::size_t max_report_bytes = 64u << 10; ///< a larger report.json is refused unread
inline constexpr std::size_t max_judged = 10;              ///< judged commits a report carries
inline constexpr std::size_t max_report_reason = 1024;     ///< bytes of each reason a report carries

/// A commit the host judged, newest first in a report.
struct Judged {
    std::string commit;
    std::string outcome; ///< "good" | "failed" | "refused"
    std::string reason;
    std::int64_t time = 0;
    friend bool operator==(const Judged &, const Judged &) = default;
};

/// report.json, schema 1.
struct HostReport {
    std::string host, fjord_version;
    std::int64_t time = 0;     ///< when it was pushed (the host's clock; nothing trusts it but a reader's age column)
    std::string commit;        ///< the applied commit ("" = none yet)
    std::uint64_t generation = 0;
    std::string wave;          ///< "all" when no rollout policy applies
    std::string state;         ///< "good" | "failed" | "waiting" | "halted"
    std::string reason;
    std::vector<Judged> judged; ///< newest first, at most max_judged
    std::uint64_t health_passed = 0, health_failed = 0;
    std::uint64_t prereq_pass = 0, prereq_warn = 0, prereq_fail = 0;
    friend bool operator==(const HostReport &, const HostReport &) = default;
};

/// The JSON of a report (reasons cut to max_report_reason, judged to max_judged).
[[nodiscard]] std::string report_json(const HostReport &r);
/// Reads report.json as found at `ref` (named in every error): at most max_report_bytes, schema
/// 1, every known field of the right type and form; unknown fields are ignored.
[[nodiscard]] Result<HostReport> parse_report(std::string_view text, std::string_view ref);

/// What decides a host's marker, from its status (daemon/ fills it from AgentStatus).
struct Standing {
    std::string rollout;           ///< "" | "waiting" | "halted"
    std::string rollout_commit;    ///< the commit held back (remote_head when empty)
    std::string remote_head;
    std::string attempted_commit;  ///< the newest judged commit
    std::string attempted_outcome; ///< "applied", "up-to-date", "failed", "rolled-back", "refused"
    std::string current_commit;    ///< the current generation's commit
};

/// The marker a host writes: the commit, its state, and the report's state word.
struct Mark {
    std::string commit;
    MarkState state = MarkState::waiting;
    std::string report_state; ///< "good", "failed", "waiting" or "halted"
    friend bool operator==(const Mark &, const Mark &) = default;
};

/// Waiting (held back or halted) for the commit a gate holds back; otherwise good or failed
/// for the newest judged commit (applied/up-to-date: good; failed/rolled-back/refused: failed);
/// with nothing judged yet, good for the current commit; nullopt when there is no commit at all.
[[nodiscard]] std::optional<Mark> mark_of(const Standing &s);
/// A judged outcome as a report names it: "good", "failed" or "refused" ("" for an unknown one).
[[nodiscard]] std::string judged_outcome(std::string_view attempted_outcome);

/// The Git objects of a report: report.json's tree (one entry, from its blob id) and the root
/// commit over it, whose author and committer times are `time` (so each push is a new commit).
[[nodiscard]] std::string report_tree_body(std::string_view blob_id);
[[nodiscard]] std::string report_commit_body(std::string_view tree_id, std::string_view host, std::int64_t time);

/// Local refs in the report cache the push sends (libgit2 pushes refs, not bare ids).
inline constexpr const char *local_report_ref = "refs/fjord/report";
inline constexpr const char *local_marker_ref = "refs/fjord/marker";

/// The refspecs of one push: the report, the marker when there is one, and the deletion of the
/// marker ref written before when it names another wave.
[[nodiscard]] std::vector<std::string> push_refspecs(std::string_view host, std::string_view wave, bool with_marker,
                                                     std::string_view old_marker_ref);

} // namespace fjord::fleet
