#pragma once
// The status repository's ref layout (issue 20): every host pushes
//   refs/fjord/hosts/<host>          its report (a root commit holding report.json), and
//   refs/fjord/waves/<wave>/<host>   a marker naming the commit it is on and its state there.
// Markers are deterministic commits: every host computes the same id for (commit, state), so a
// gate check reads ref names and ids only (Git protocol v2 ls-refs with a prefix per wave) and
// fetches no object. Pure: names, ids and the stable hash that places hosts in percent waves.
#include "util/result.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fjord::fleet {

/// What a host's marker says of a commit.
enum class MarkState { waiting, good, failed };

[[nodiscard]] std::string_view mark_state_name(MarkState s);

/// The id of the marker commit for (commit, state): tree = the empty tree, no parent, author
/// and committer "fjord <fjord@invalid> 0 +0000", message "fjord marker\n\ncommit C\nstate S\n".
[[nodiscard]] std::string marker_id(std::string_view commit, MarkState s);
/// The marker's object text (what marker_id hashes), for writing it into a repository.
[[nodiscard]] std::string marker_body(std::string_view commit, MarkState s);

/// Host and wave names as they appear in refs: [A-Za-z0-9][A-Za-z0-9._-]{0,62}, not ending in
/// ".lock" or ".". Errc::invalid naming `what` (e.g. "report.host") and the reason.
[[nodiscard]] Status check_ref_name(std::string_view name, std::string_view what);

[[nodiscard]] std::string host_ref(std::string_view host);
[[nodiscard]] std::string wave_prefix(std::string_view wave); ///< "refs/fjord/waves/<wave>/"
[[nodiscard]] std::string marker_ref(std::string_view wave, std::string_view host);

/// A marker ref's wave and host, or nullopt when `ref` is not one (or names badly formed).
struct MarkerRef {
    std::string wave, host;
};
[[nodiscard]] std::optional<MarkerRef> parse_marker_ref(std::string_view ref);

/// The host's stable bucket in [0, 100): the first 8 bytes of SHA-256(host), big-endian, mod 100.
[[nodiscard]] unsigned bucket(std::string_view host);

} // namespace fjord::fleet
