#pragma once
// A checkout on disk as a repo tree (fjordctl validate and render, tests).
#include "util/tree.hpp"
#include <memory>
#include <string>

namespace fjord {

/// A folder on disk seen as a repo tree (validate, render, tests). Symlinks are reported as
/// symlinks, device files and sockets as EntryKind::other; ids are Git blob ids of content
/// (folders and nested checkouts have id ""). ".git" is skipped; no symlink is followed.
[[nodiscard]] Result<std::unique_ptr<TreeView>> open_dir_tree(const std::string &root);

} // namespace fjord
