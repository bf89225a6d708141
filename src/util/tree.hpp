#pragma once
// A read-only view of one commit of the repository (or of a checkout on disk, for
// `fjordctl validate`), which the manifest layer renders without knowing where it comes from.
// Interfaces only: source/ implements them (git_source.hpp, dir_tree.hpp), so the layers that
// read trees (manifest, apply) never link libgit2.
#include "util/result.hpp"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fjord {

enum class EntryKind { file, symlink, dir, submodule, other };

/// One entry of a folder of the repo.
struct TreeEntry {
    std::string name;      ///< the entry's name inside its folder
    EntryKind kind = EntryKind::other;
    bool executable = false; ///< Git mode 100755
    std::string id;        ///< Git blob id (files and symlinks); tree id for folders
};

/// Reads content by blob id (the Git cache, an object store, a checkout on disk).
class BlobReader {
  public:
    virtual ~BlobReader() = default;
    /// The content of blob `id`; refuses content larger than max bytes.
    [[nodiscard]] virtual Result<std::string> read_blob(const std::string &id, std::uint64_t max) const = 0;
};

/// One commit's tree (or a folder on disk). Paths are relative to the repo's root, '/'-separated,
/// "" for the root itself.
class TreeView : public BlobReader {
  public:
    /// The entries of folder `dir`; Errc::not_found when there is no such folder.
    [[nodiscard]] virtual Result<std::vector<TreeEntry>> list(const std::string &dir) const = 0;
    /// The size of blob `id` in bytes, without reading its content where the store allows.
    [[nodiscard]] virtual Result<std::uint64_t> blob_size(const std::string &id) const = 0;
    /// The commit this view shows ("" for a folder on disk).
    [[nodiscard]] virtual std::string commit() const = 0;
};

} // namespace fjord
