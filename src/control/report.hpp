#pragma once
// What fjord recorded of one commit it judged: outcome, full reason, the time each stage took,
// and the checks and hooks it ran with their results and (bounded) output. A commit that became
// a generation keeps it beside it (state.dir/generations/N/report.json, pruned with it); one
// that never did (a render failure, a refusal before the host was touched, a failed signature)
// is an attempt, kept in state.dir/attempts.json (the newest kept_attempts of them). `fjordctl
// history` lists both, `fjordctl show` prints one in full.
//
// Outputs of checks and hooks are kept as they printed them (a command may print anything);
// when the generation has secret files they are hidden, as in the journal. Decrypted secret
// content is never part of a report.
#include "util/result.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// A check or hook run for a commit.
struct StepRecord {
    std::string kind;   ///< "check", "hook pre-apply", "hook post-apply", "hook post-rollback"
    std::string name;   ///< the check's name, the hook's command
    std::string result; ///< "passed", "failed", "exit status 1", "timed out", ...
    std::int64_t ms = 0;
    std::string output; ///< at most max_output_bytes
    friend bool operator==(const StepRecord &, const StepRecord &) = default;
};

/// How long one stage of the pipeline took.
struct StageTime {
    std::string stage;
    std::int64_t ms = 0;
    friend bool operator==(const StageTime &, const StageTime &) = default;
};

/// One judged commit.
struct Report {
    std::uint64_t generation = 0; ///< 0: it never became a generation (an attempt)
    std::string commit, subject;
    std::int64_t time = 0;        ///< seconds since the epoch (the last time, for repeats)
    std::string outcome;          ///< "failed", "refused" (attempts); a generation's own outcome otherwise
    std::string stage;            ///< the stage it ended in (render, plan, guard, ...)
    std::string reason;           ///< the whole error text, at most max_reason_bytes
    std::uint32_t repeats = 1;    ///< the same outcome and reason for the same commit, poll after poll
    std::uint64_t after = 0;      ///< attempts: the newest generation number when it was judged (history's order)
    std::vector<StageTime> stages;
    std::vector<StepRecord> steps;
    friend bool operator==(const Report &, const Report &) = default;
};

inline constexpr std::size_t max_output_bytes = 4096;  ///< per check or hook output
inline constexpr std::size_t max_reason_bytes = 16384; ///< per reason
inline constexpr std::size_t kept_attempts = 50;       ///< attempts kept in attempts.json

/// `s` cut to at most `max` bytes (on a UTF-8 boundary), saying how much was left out.
[[nodiscard]] std::string bounded(std::string_view s, std::size_t max);
/// The attempt log with `r` added: the same commit, outcome and reason as the newest entry only
/// counts a repeat (and takes the new time); the oldest beyond kept_attempts are dropped.
[[nodiscard]] std::vector<Report> add_attempt(std::vector<Report> log, Report r);

[[nodiscard]] std::string report_to_json(const Report &r);
[[nodiscard]] Result<Report> report_from_json(std::string_view text, const std::string &where);

/// state.dir/attempts.json: generation-less records, oldest first ([] when there is none).
[[nodiscard]] Result<std::vector<Report>> read_attempts(const std::string &state_dir);
[[nodiscard]] Status write_attempts(const std::string &state_dir, const std::vector<Report> &log);
/// state.dir/generations/N/report.json (Errc::not_found for generations from before it was kept).
[[nodiscard]] Result<Report> read_generation_report(const std::string &state_dir, std::uint64_t n);
[[nodiscard]] Status write_generation_report(const std::string &state_dir, const Report &r);

} // namespace fjord
