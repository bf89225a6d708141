#pragma once
// What an apply would change, with content: `fjordctl diff`. Read only: the live host through
// RootedFs (no symlink followed out of apply.root), content from the rendered state, fjord's
// object store or the Git cache, never stored anywhere.
#include "apply/rooted_fs.hpp"
#include "plan/plan.hpp"
#include "util/tree.hpp"
#include <cstddef>
#include <string>
#include <string_view>

namespace fjord {

class Store;

/// Bounds, so a hostile commit cannot make a preview print (or hold) gigabytes.
struct PreviewLimits {
    std::uint64_t max_bytes = 1u << 20; ///< a side larger than this is not diffed (its size is said)
    std::size_t file_lines = 400;       ///< diff lines shown for one file (then "... N more lines")
    std::size_t total_lines = 4000;     ///< lines of the whole preview (then "... N more changes not shown")
    std::size_t total_bytes = 1u << 20; ///< bytes of the whole preview (long lines count too; it goes over the control socket)
};

/// Where a preview reads content. All optional but fs.
struct PreviewSources {
    const RootedFs &fs;
    const Store *store = nullptr;      ///< fjord's object store (read only: nothing is put)
    const BlobReader *repo = nullptr;  ///< the Git cache
    std::string new_label = "desired"; ///< names the new side: the commit's short id, or "local"
};

/// A unified diff (3 lines of context, as git's) of two texts, made by libgit2 from the buffers:
/// "--- OLD" / "+++ NEW" and the hunks, at most max_lines lines of hunks, then "... N more
/// lines". "Binary files differ" when either side has a NUL byte; "" when they are equal.
[[nodiscard]] std::string unified_diff(std::string_view old_text, std::string_view new_text, const std::string &old_label,
                                       const std::string &new_label, std::size_t max_lines);

/// The preview of `plan` (from `prev` to `desired`): each path written, with its type, mode,
/// owner and target changes and a unified diff against the LIVE file (what the host has now,
/// which is what would change); secrets as "secret changed" / "secret added" only, never a byte
/// of either side; paths removed or restored; units whose settings change and the systemd steps;
/// containers with their spec's changes. "" when the plan is empty.
[[nodiscard]] std::string preview(const Plan &plan, const Generation &prev, const DesiredState &desired, const PreviewSources &src,
                                  const PreviewLimits &limits = {});

} // namespace fjord
