#pragma once
// Metrics for node_exporter's textfile collector: a small .prom file rewritten atomically
// after every sync and drift pass. No secret, path or message goes in: numbers and states only.
#include "daemon/reconciler.hpp"

namespace fjord {

/// The textfile's content for a status.
[[nodiscard]] std::string render_metrics(const AgentStatus &s, std::size_t managed_files);
/// Writes it to `path` ("" = off). A missing folder (no node_exporter) is not an error.
[[nodiscard]] Status write_metrics(const std::string &path, const AgentStatus &s, std::size_t managed_files);

} // namespace fjord
