#pragma once
// The status repository read back for `fjordctl fleet`: every report and marker, fetched with
// fjord's own Git code (libgit2, host keys checked against known_hosts) into a scratch cache.
#include "config/config.hpp"
#include "fleet/view.hpp"
#include "source/git_source.hpp"
#include <string>

namespace fjord::fleet {

inline constexpr std::size_t max_status_refs = 200'000; ///< refs read back, hosts and markers each

/// Fetches refs/fjord/ of the status repository `cache` was opened for (GitSource::open with
/// the status URL, its ssh_key and known_hosts used as source.url's are) and reads each host's
/// report.json (bounded) and each marker. A report that cannot be read is kept with its error,
/// so the view names it. Runs in a sandboxed child (sandbox/fleet_isolated.hpp).
[[nodiscard]] Result<StatusRead> read_status_repo(GitSource &cache);

} // namespace fjord::fleet
