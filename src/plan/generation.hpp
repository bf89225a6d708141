#pragma once
// A generation: what fjord applied for one commit, path by path, with the record of what each
// path held before fjord first wrote it. Generations are the unit of history and rollback.
#include "manifest/desired_state.hpp"
#include "plan/file_table.hpp"
#include "plan/containers.hpp"
#include "util/result.hpp"
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace fjord {

/// How a generation ended. `refused`: stopped before anything touched the host (a validate
/// command failed); recorded so that history shows why.
enum class Outcome { pending, good, rolled_back, refused };

/// A generation's header: the part history lists.
struct GenerationInfo {
    std::uint64_t number = 0;
    std::string commit;
    std::int64_t time = 0;          ///< seconds since the epoch, when it was applied
    Outcome outcome = Outcome::pending;
    std::string message;            ///< error, or a note ("rollback to 3", "drift correction")
    std::string changes = {};       ///< "+2 ~1 -0, 1 unit" ("" in generations from before it was kept)
};

/// A whole generation: its header, its files and the folders fjord created for them.
struct Generation {
    GenerationInfo info;
    FileTable files;                ///< path -> what fjord applied there (compact: plan/file_table.hpp)
    std::set<std::string> dirs;     ///< folders fjord created (removed again when empty and unused)
    std::map<std::string, UnitSpec> units; ///< units and how systemd should run them
    std::map<std::string, AppliedContainer> containers; ///< containers, each with its image pinned by digest
    /// The [[check]]s and [[hook]]s of the commit, so a rollback to this generation and the
    /// re-check after an automatic rollback run them without rendering the old commit again.
    std::vector<CheckSpec> checks;
    std::vector<HookSpec> hooks;
    /// False for generation files written before checks and hooks were kept (format 1): their
    /// checks must be rendered again from the commit.
    bool checks_kept = true;
};

/// True when two unit specs ask systemd for the same thing (enable, state, on_change, watch).
[[nodiscard]] bool same_unit(const UnitSpec &a, const UnitSpec &b);

/// Escapes a field of fjord's line formats ('%', blanks, ',' and control characters as %XX).
[[nodiscard]] std::string esc(std::string_view s);
/// Undoes esc(); false on a malformed escape.
[[nodiscard]] bool unesc(std::string_view s, std::string &out);
/// Splits on one character, keeping empty fields.
[[nodiscard]] std::vector<std::string_view> split(std::string_view s, char sep);

/// The fields of one line, without allocating (a generation file has one line per path).
struct Fields {
    std::array<std::string_view, 12> at;
    std::size_t size = 0; ///< more than at.size() fields: size is at.size() + 1
};
[[nodiscard]] Fields split_fields(std::string_view s, char sep);

/// "good", "rolled-back", "pending", "refused".
[[nodiscard]] const char *outcome_name(Outcome o);
[[nodiscard]] Result<Outcome> parse_outcome(std::string_view s);

/// True when two specs put the same bytes, kind, mode and ownership on the host.
[[nodiscard]] bool same_on_host(const FileSpec &a, const FileSpec &b);

/// The manifest part of a generation (files and dirs) as text, one path a line.
[[nodiscard]] std::string serialize_files(const Generation &g);
/// The same text a line at a time, each without its '\n', the header first.
void serialize_files(const Generation &g, const std::function<void(std::string_view)> &emit);
/// Parses serialize_files' text into g.files and g.dirs; `where` names the file in errors.
/// `keep_paths` false checks every line the same way but keeps no path (g.files and g.dirs stay
/// empty): whether a generation can be read, without the memory of its paths.
[[nodiscard]] Status parse_files(std::string_view text, Generation &g, const std::string &where, bool keep_paths = true);
/// The same for a text given in pieces, each of whole lines (a chunked record, apply/chunks.hpp),
/// never put together.
[[nodiscard]] Status parse_files(const std::vector<std::string_view> &pieces, Generation &g, const std::string &where,
                                 bool keep_paths = true);
/// The header as "key value" lines.
[[nodiscard]] std::string serialize_info(const GenerationInfo &info);
[[nodiscard]] Result<GenerationInfo> parse_info(std::string_view text, const std::string &where);

} // namespace fjord
