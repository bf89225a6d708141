#pragma once
// [file."PATH"] and [file."PATTERN"] tables: which settings a managed path ends up with.
// A key with '*', '?' or '[' is a pattern, matched like unit watch globs (fnmatch without
// FNM_PATHNAME: '*' also crosses '/', so "/etc/nginx/*" and "/etc/nginx/**" both match every
// file below /etc/nginx). Key by key, an exact table (any folder) beats every pattern; among
// patterns, a later folder beats an earlier one (the host beats its bundles), and two patterns
// of one folder setting the same key differently for one path are an error.
#include "manifest/manifest_toml.hpp"
#include <string_view>
#include <vector>

namespace fjord {

/// True when a [file] key is a pattern rather than one path.
[[nodiscard]] bool is_file_pattern(std::string_view key);

/// A pattern table and the folder (index in merge order) that set it.
struct PatternPatch {
    std::string pattern;
    std::size_t folder = 0;
    FilePatch patch;
};

/// Overlays `p` on `acc`: the keys `p` sets win.
void merge_patch(FilePatch &acc, const FilePatch &p);

/// The settings of `path`: matching patterns, then `exact` (its merged exact tables, or null)
/// on top. Patterns give a symlink only owner and group (a link has no mode, and nothing to
/// validate). Errors name both tables when two patterns of one folder disagree.
[[nodiscard]] Result<FilePatch> settle_patch(const std::string &path, bool symlink, const std::vector<PatternPatch> &patterns,
                                             const FilePatch *exact);

} // namespace fjord
