#pragma once
// The prerequisites as JSON: `fjordctl check --json`, and state.dir/prereq.json, where fjordd
// keeps its latest results (for `fjordctl status`) and the slow measurements (steal, fdatasync)
// with their times, so `fjordd --once` need not take them again while they are fresh.
#include "config/config.hpp"
#include "prereq/types.hpp"
#include "util/result.hpp"
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fjord::prereq {

/// {"check", "subject", "status", "value", "threshold", "problem", "remedy", "data"}.
[[nodiscard]] nlohmann::json to_json(const CheckResult &r);
/// {"status": the worst, "counts": {"pass", "warn", "fail"}, "checks": [to_json...]}.
[[nodiscard]] nlohmann::json report_json(const std::vector<CheckResult> &results);

/// What state.dir/prereq.json holds.
struct Saved {
    std::int64_t checked_at = 0;          ///< unix time of the newest round
    std::string mode;                     ///< prerequisites.mode when saved
    std::vector<CheckResult> results;
    std::optional<StealFacts> steal;      ///< the last steal window
    std::vector<FsyncFacts> fsync;        ///< the last fdatasync probe
};

/// The file's name inside state.dir.
inline constexpr const char *saved_name = "prereq.json";

/// Reads state.dir/prereq.json; Errc::not_found when there is none, Errc::invalid when it is not
/// what fjord wrote (callers start afresh then).
[[nodiscard]] Result<Saved> read_saved(const std::string &state_dir);
/// Writes state.dir/prereq.json (tmp -> fsync -> rename).
[[nodiscard]] Status write_saved(const std::string &state_dir, const Saved &s);

/// "pass" | "warn" | "fail" -> the status; anything else is warn (an unknown is never a pass).
[[nodiscard]] CheckStatus status_from_name(const std::string &s);
/// prerequisites.mode as written in the config.
[[nodiscard]] const char *mode_name(PrereqMode m);

} // namespace fjord::prereq
