#pragma once
// Fleets' untrusted input in sandboxed children: a commit's fleet.toml out of the Git cache, and
// the gate check's ls-refs (fleet/ls_refs.hpp) with the status repo's answer read in a sandboxed
// child: network only, no file writes, no new processes (the "poll" filter). The transport
// process a URL needs (ssh, git-upload-pack) is spawned by the caller first and the child talks
// over its socket; the child's answer is checked again here.
#include "fleet/ls_refs.hpp"
#include "fleet/view.hpp"
#include "source/git_source.hpp"
#include <optional>

namespace fjord {

/// fleet::ls_refs, the conversation in a poll child. Errors name the URL (never a key).
[[nodiscard]] Result<fleet::LsRefsAnswer> ls_refs_isolated(const fleet::LsRefsRequest &req);

/// The file `name` at the root of `commit`'s tree (at most `max` bytes), read in a render child;
/// nullopt when the root has no such file. Errc::invalid when it is not a regular file or larger.
[[nodiscard]] Result<std::optional<std::string>> root_file_isolated(GitSource &source, const std::string &commit,
                                                                    const std::string &name, std::uint64_t max);

/// `fjordctl fleet`'s read of the status repository (fleet::read_status_repo) in a fetch child:
/// network, writes only beneath `scratch_dir` (its Git cache goes in scratch_dir/cache); the
/// answer is checked again here (shape, at most fleet::max_status_refs of each, reports bounded).
[[nodiscard]] Result<fleet::StatusRead> read_status_repo_isolated(const SourceConfig &remote, const std::string &scratch_dir);

} // namespace fjord
