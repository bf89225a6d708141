#pragma once
// The status repository read back for `fjordctl fleet`: every report and marker, fetched with
// fjord's own Git code (libgit2, host keys checked against known_hosts) into a scratch cache.
#include "config/config.hpp"
#include "fleet/view.hpp"
#include <string>

namespace fjord::fleet {

inline constexpr std::size_t max_status_refs = 200'000; ///< refs read back, hosts and markers each

/// Fetches refs/fjord/ of `remote.url` (its ssh_key and known_hosts used as source.url's are)
/// into a new cache at `scratch_dir` and reads each host's report.json (bounded) and each marker.
/// A report that cannot be read is kept with its error, so the view names it.
[[nodiscard]] Result<StatusRead> read_status_repo(const SourceConfig &remote, const std::string &scratch_dir);

} // namespace fjord::fleet
