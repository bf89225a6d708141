#pragma once
// The gate check's ls-refs (fleet/ls_refs.hpp) with the status repo's answer read in a sandboxed
// child: network only, no file writes, no new processes (the "poll" filter). The transport
// process a URL needs (ssh, git-upload-pack) is spawned by the caller first and the child talks
// over its socket; the child's answer is checked again here.
#include "fleet/ls_refs.hpp"

namespace fjord {

/// fleet::ls_refs, the conversation in a poll child. Errors name the URL (never a key).
[[nodiscard]] Result<fleet::LsRefsAnswer> ls_refs_isolated(const fleet::LsRefsRequest &req);

} // namespace fjord
