#pragma once
// Image update policies (`update = "glob:1.2.*"` in a container spec): which tags of an image
// fjord may move a container to by itself, and which of them is the newest. Pure logic.
//
// Grammar of a policy (the text after `update =`):
//   ""                     pinned: never updated by fjord (matches() is always false)
//   "glob:PATTERN"         tags matching PATTERN as a whole; `*` is any run of characters,
//                          `?` one character, everything else literal ("glob:1.2.*")
//   "semver:MAJOR.MINOR.PATCH[-PRE]"   exactly that version ("semver:1.2.3"; "v1.2.3" matches)
//   "semver:~VERSION"      patch updates: ~1.2 and ~1.2.3 mean >=1.2(.3) <1.3.0; ~1 means <2.0.0
//   "semver:^VERSION"      compatible updates, as npm's caret: ^1.2 means >=1.2.0 <2.0.0,
//                          ^0.2.3 means >=0.2.3 <0.3.0, ^0.0.3 means >=0.0.3 <0.0.4
// VERSION is MAJOR[.MINOR[.PATCH]][-PRE] with an optional leading "v".
//
// Only tags that are versions are ever picked: an optional "v", one to three dot-separated
// numbers, an optional "-PRE" (1.2, v1.2.3, 1.2.3-rc1). "latest" or "stable" never are.
// A pre-release tag (1.2.3-rc1, also 1.25.3-alpine) is picked only when the policy names a
// pre-release: a glob PATTERN containing '-', or a semver VERSION with -PRE (then, as in npm's
// semver, only pre-releases of that same MAJOR.MINOR.PATCH).
#include "util/result.hpp"
#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// A version read from an image tag. Missing MINOR/PATCH are 0 ("1.25" is 1.25.0).
struct Version {
    std::uint64_t major = 0, minor = 0, patch = 0;
    std::string pre; ///< pre-release after '-', "" for a release
};

/// Reads a tag as a version; nullopt for tags that are not versions ("latest", "1.2.3.4").
[[nodiscard]] std::optional<Version> parse_version(std::string_view tag);
/// Version order: numbers compare as numbers (1.2.10 > 1.2.9); a pre-release sorts below its
/// release (1.2.3-rc1 < 1.2.3); pre-releases compare by dot-separated parts, digit runs
/// as numbers (rc10 > rc9). Returns <0, 0 or >0.
[[nodiscard]] int compare_version(const Version &a, const Version &b);
/// Orders two tags: version order when both are versions, versions above non-versions, and
/// the plain text otherwise or on a tie ("1.2" vs "1.2.0"), so the order is total.
[[nodiscard]] int compare_tags(std::string_view a, std::string_view b);

/// A parsed update policy.
struct TagPolicy {
    enum class Kind { pinned, glob, exact, tilde, caret };
    Kind kind = Kind::pinned;
    std::string text;    ///< the policy as written, for messages ("glob:1.2.*")
    std::string pattern; ///< glob: the pattern
    Version low;         ///< semver: the lowest version allowed (inclusive)
    Version high;        ///< tilde/caret: the first version no longer allowed (exclusive)
    bool pre_allowed = false; ///< the policy names a pre-release
};

/// Parses a policy; Errc::invalid with a message naming the policy text and what is wrong.
[[nodiscard]] Result<TagPolicy> parse_tag_policy(std::string_view text);
/// True when fjord may move to `tag` under `policy` (always false when pinned).
[[nodiscard]] bool matches(const TagPolicy &policy, std::string_view tag);
/// The newest tag (by compare_tags) that matches and is not in bad_tags; nullopt if none.
[[nodiscard]] std::optional<std::string> newest_matching(const TagPolicy &policy, const std::vector<std::string> &tags,
                                                         const std::set<std::string> &bad_tags = {});

} // namespace fjord
