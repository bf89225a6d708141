#pragma once
// Metrics for node_exporter's textfile collector: a small .prom file rewritten atomically
// after every sync and drift pass. No secret, path or message goes in: numbers and states only
// (the applied commit id and fjord's version are the only strings, as labels of fjord_info).
// Counters live in status.json (AgentStatus), so they survive restarts; they reset only with
// a new state.dir, which Prometheus' rate() handles as any counter reset.
#include "control/status.hpp"
#include "prereq/types.hpp"
#include "util/result.hpp"
#include <string>
#include <vector>

namespace fjord {

/// The fixed set of poll error reasons (the `reason` label of fjord_poll_errors_total).
inline constexpr const char *poll_error_reasons[] = {"network", "auth", "refused", "invalid", "not_found", "other"};
/// The reason label for an error of a poll or fetch.
[[nodiscard]] const char *poll_error_reason(Errc code);
/// Counts a poll or fetch error in the status's counters.
void count_poll_error(AgentStatus &s, Errc code);

/// The textfile's content for a status and the latest prerequisite results.
[[nodiscard]] std::string render_metrics(const AgentStatus &s, const std::vector<prereq::CheckResult> &prereqs);
/// Writes it to `path` ("" = off), reading prerequisite results from state_dir/prereq.json.
/// A missing folder (no node_exporter) is not an error.
[[nodiscard]] Status write_metrics(const std::string &path, const std::string &state_dir, const AgentStatus &s);

/// The reporter's own textfile beside metrics.textfile ("fjord.prom" -> "fjord-report.prom"):
/// its thread rewrites it after every push attempt, so the main file's writer never races it.
[[nodiscard]] std::string report_metrics_path(const std::string &metrics_textfile);
/// fjord_report_push_failures_total and fjord_report_last_push_timestamp_seconds.
[[nodiscard]] std::string render_report_metrics(std::uint64_t push_failures_total, std::int64_t last_push);
/// Writes them to report_metrics_path(metrics_textfile) ("" = off; a missing folder is no error).
[[nodiscard]] Status write_report_metrics(const std::string &metrics_textfile, std::uint64_t push_failures_total,
                                          std::int64_t last_push);

} // namespace fjord
