#pragma once
// The push of a fleet report (issue 20) in a sandboxed child under the fetch filter: network,
// and file writes only into the report cache (state.dir/report.git) and, when the status
// repository is on this machine (file:// or a path), into it. The child writes report.json's
// blob, tree and root commit and the marker commit into the cache, checks the marker's id is
// the one every host computes, and pushes both refs (and the old marker's deletion) at once.
#include "config/config.hpp"
#include "fleet/report.hpp"
#include "source/git_source.hpp"
#include <optional>

namespace fjord {

/// What one push sends.
struct ReportPush {
    std::string report_json;         ///< fleet::report_json
    std::string host, wave;          ///< report.host; the marker's wave ("all" when none)
    std::optional<fleet::Mark> mark; ///< no marker while the host has no commit
    std::string old_marker_ref;      ///< the marker ref the last push wrote ("" = none)
    std::int64_t time = 0;
};

/// Opens (or makes) the report cache: a bare repository whose remote is report.url, with
/// report.ssh_key and report.known_hosts as its credentials.
[[nodiscard]] Result<std::unique_ptr<GitSource>> open_report_cache(const ReportConfig &cfg, const std::string &cache_dir);

/// The push, in a child killed after cfg.timeout. Answers the marker ref the remote now holds
/// ("" when no marker was sent).
[[nodiscard]] Result<std::string> push_report_isolated(GitSource &cache, const ReportConfig &cfg, const ReportPush &p);

} // namespace fjord
