#pragma once
// Content ids are Git blob ids (SHA-1 of "blob LEN\0DATA", hex), so content from the repo,
// rendered content and backups of adopted files share one namespace with the Git cache.
#include "util/result.hpp"
#include <optional>
#include <string>
#include <string_view>

namespace fjord {

/// The Git blob id of a buffer, as 40 hex digits.
[[nodiscard]] std::string blob_id(std::string_view data);
/// The Git id of an object of `type` ("blob", "commit", "tree") whose content is `data`.
[[nodiscard]] std::string git_object_id(std::string_view type, std::string_view data);
/// The Git blob id of what an open file holds (read from its start).
[[nodiscard]] Result<std::string> blob_id_fd(int fd);

/// `body` behind a first line "sealed ID" (ID: blob_id(body)): a state file fjord can tell
/// damaged at rest (a flipped byte, a cut-short tail) from what it wrote.
[[nodiscard]] std::string sealed(std::string_view body);
/// The body of sealed() text; text without the first line (written before seals) as it is.
/// Errc::corrupt naming `where` when the seal does not match.
[[nodiscard]] Result<std::string_view> unsealed(std::string_view text, const std::string &where);
/// Two sealed copies of one file, each damaged in place (flipped bytes, as bit rot does) but in
/// different bytes: the text both were, found by taking each differing byte from one copy or the
/// other until the seal matches. nullopt when the copies differ in length, in more bytes than
/// can be tried within a bounded amount of hashing, or no choice matches the seal.
[[nodiscard]] std::optional<std::string> mend_sealed(std::string_view a, std::string_view b);

} // namespace fjord
