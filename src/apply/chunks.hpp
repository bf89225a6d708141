#pragma once
// A generation's files record (serialize_files' text) kept as content-addressed chunks shared
// between generations (issue 18): path lines are bucketed by a hash of the path, the units,
// checks, hooks and containers go in a chunk of their own, and each generation keeps only a
// small index of chunk ids. A commit that changes one file writes one new chunk and an index,
// never every path again. Each chunk is stored twice (ID and ID.copy) and checked against its
// id when read, as the sealed records are.
#include "util/result.hpp"
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fjord {

/// A generation's `files` record in the chunked form: which chunks make its text.
struct ChunkIndex {
    std::string header = "fjord-files 2"; ///< the first line of the text the chunks make
    std::uint32_t buckets = 1;            ///< path lines are bucketed by hash(path) % buckets
    std::string meta;                     ///< the chunk of U/k/h/c lines, in order ("" : none)
    std::vector<std::string> paths;       ///< each bucket's chunk ("" : an empty bucket)

    /// Every chunk id it names, each once (empty buckets left out).
    [[nodiscard]] std::set<std::string> ids() const;
};

/// A files text split into chunks: the index and each chunk's id and content (new or not).
struct SplitFiles {
    ChunkIndex index;
    std::vector<std::pair<std::string, std::string>> chunks; ///< id, content; no empty chunk
};

/// The number of buckets for `lines` path lines: about 64 lines a chunk (1 to 4096 buckets), but
/// `prev` (the parent's, 0: none) while it still gives 16 to 256 lines a chunk, so a host whose
/// path count hovers around a power of two does not rewrite every chunk each time.
[[nodiscard]] std::uint32_t choose_buckets(std::size_t lines, std::uint32_t prev);
/// The number of path lines (f, l, d) in a files text.
[[nodiscard]] std::size_t count_path_lines(std::string_view text);
/// Splits serialize_files() text into `buckets` path chunks (a power of two) and the meta chunk.
[[nodiscard]] Result<SplitFiles> split_files(std::string_view text, std::uint32_t buckets);

/// True when a files record's body is an index (the form since issue 18) rather than the text.
[[nodiscard]] bool is_chunk_index(std::string_view body);
[[nodiscard]] std::string serialize_index(const ChunkIndex &index);
/// Parses serialize_index's text; `where` names the file in errors.
[[nodiscard]] Result<ChunkIndex> parse_index(std::string_view body, const std::string &where);

/// The folder of chunks (STATE/chunks): each chunk as ID and ID.copy, written durably before any
/// index names it, never rewritten while present.
class ChunkDir {
  public:
    explicit ChunkDir(std::string dir) : dir_(std::move(dir)) {}

    /// Stores the chunks not yet present (a copy missing or cut short is written again):
    /// temp files, their data made durable, renamed, then one fsync of the folder. The number
    /// of files written is added to `*written` (for tests and measurements).
    [[nodiscard]] Status put(const std::vector<std::pair<std::string, std::string>> &chunks, std::size_t *written = nullptr);
    /// A chunk's content checked against its id: the copy when the first is damaged or missing,
    /// both mended from each other when each is damaged in other bytes. Errc::corrupt naming
    /// the chunk file otherwise.
    [[nodiscard]] Result<std::string> get(const std::string &id) const;
    /// The text an index makes: its header, the path chunks in bucket order, then the meta chunk.
    /// Errors name `where` (the index) and the chunk file.
    [[nodiscard]] Result<std::string> assemble(const ChunkIndex &index, const std::string &where) const;
    /// Rewrites a damaged or missing copy of a chunk from the sound one (or both, mended from
    /// each other); true when it did.
    bool heal(const std::string &id);
    /// Removes every chunk not in `live` (all: none) and leftover temp files.
    void remove_unused(const std::set<std::string> &live, bool keep_all);

    /// The path of a chunk's first copy.
    [[nodiscard]] std::string path(const std::string &id) const { return dir_ + "/" + id; }

  private:
    std::string dir_;
};

} // namespace fjord
