#pragma once
// The drift pass: live managed files compared with the last good generation, at the cost of
// one lstat per file; content is hashed only where the stat differs from what fjord last saw.
#include "apply/rooted_fs.hpp"
#include "apply/store.hpp"
#include <functional>
#include <vector>

namespace fjord {

/// One managed path that no longer matches its generation.
struct DriftEvent {
    std::string path;
    std::string what; ///< "content changed", "missing", "mode 0600, want 0644", ...
    bool fixable = true; ///< false when the path cannot be reached (a symlinked parent)
};

/// The keyed digest of a secret's plaintext (AgeIdentity::digest), as FileSpec::secret_mac holds it.
using SecretDigest = std::function<std::string(std::string_view plaintext)>;

/// Compares every file of `gen` with the host: one fstatat a file from its folder's fd (each
/// folder opened once, never through a symlink: see FolderWalk). `cache` holds the stat fjord
/// last saw of each file; content is hashed only where the stat moved, and the stamp refreshed
/// when it is unchanged. Afterwards `cache` holds stamps of `gen`'s files only, and changed()
/// says whether any stamp moved. A secret's content is judged by `secret_digest` against its
/// secret_mac; without them, only its mode and owner are. `refreshed`, when given, counts the
/// cache entries it refreshed.
[[nodiscard]] Result<std::vector<DriftEvent>> find_drift(const RootedFs &fs, const Generation &gen, StatCache &cache,
                                                         const SecretDigest &secret_digest = {},
                                                         std::size_t *refreshed = nullptr);

} // namespace fjord
