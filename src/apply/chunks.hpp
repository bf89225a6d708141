#pragma once
// A generation's files record (serialize_files' text) kept as content-addressed chunks shared
// between generations (issue 18). The path lines, in their order, are cut after each line whose
// path hashes to 0 mod 64 (content-defined chunking: about 64 lines a chunk, and a cut depends on
// that one path only, so a path added, changed or removed changes one chunk, two at most); the
// units, checks, hooks and containers go in a chunk of their own. Each generation keeps only a
// small index of chunk ids; the chunks put together in its order give back the text byte for
// byte. A commit that changes one file writes one new chunk and an index, never every path
// again. Each chunk is stored twice (ID and ID.copy) and checked against its id when read, as
// the sealed records are.
#include "util/result.hpp"
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fjord {

/// A generation's `files` record in the chunked form: which chunks make its text.
struct ChunkIndex {
    std::string header = "fjord-files 2"; ///< the first line of the text the chunks make
    std::vector<std::string> paths;       ///< the chunks of path lines (f, l, d), in order
    std::string meta;                     ///< the chunk of U/k/h/c lines, in order ("" : none)

    /// Every chunk id it names, each once.
    [[nodiscard]] std::set<std::string> ids() const;
};

/// A files text split into chunks: the index and each chunk's id and content (new or not).
struct SplitFiles {
    ChunkIndex index;
    std::vector<std::pair<std::string, std::string>> chunks; ///< id, content; no empty chunk
};

/// Tells split_files which chunks need no content: stored already (id, size).
using ChunkStored = std::function<bool(const std::string &id, std::size_t size)>;

/// Whether a path line ends its chunk: its path hashes to 0 mod 64. Only sharing between
/// generations depends on it (an index lists its chunks, so reading never does).
[[nodiscard]] bool ends_chunk(std::string_view escaped_path);
/// A chunk is cut after this many path lines even without a cut point (paths chosen so that
/// none hashes to one would otherwise make one chunk of them all).
inline constexpr std::size_t max_chunk_lines = 1024;
/// Splits serialize_files() text into path chunks and the meta chunk. A chunk `stored` says is
/// stored already is named in the index but not copied into `chunks` (a one-file change copies
/// one chunk, not the whole record).
[[nodiscard]] Result<SplitFiles> split_files(std::string_view text, const ChunkStored &stored = {});
/// split_files fed a line at a time (serialize_files' lines, without their '\n', the header
/// first): a save holds the chunks it must write, never the whole text (~14 MB at 100,000
/// files, of which a one-file change writes one chunk).
class ChunkSplitter {
  public:
    explicit ChunkSplitter(ChunkStored stored = {});
    [[nodiscard]] Status line(std::string_view line);
    [[nodiscard]] Result<SplitFiles> finish();

  private:
    std::string add(std::string &&content);
    ChunkStored stored_;
    SplitFiles out_;
    std::string part_, meta_;
    std::size_t lines_ = 0;
    bool header_ = false;
};

/// True when a files record's body is an index (the form since issue 18) rather than the text.
[[nodiscard]] bool is_chunk_index(std::string_view body);
[[nodiscard]] std::string serialize_index(const ChunkIndex &index);
/// Parses serialize_index's text; `where` names the file in errors.
[[nodiscard]] Result<ChunkIndex> parse_index(std::string_view body, const std::string &where);

/// The folder of chunks (STATE/chunks): each chunk as ID and ID.copy, written durably before any
/// index names it, never rewritten while present. Chunks read (and checked) or written are kept in
/// memory, about one generation's worth: a chunk's content never changes, so the several loads of
/// one run read each chunk file once. Up to max_kept_chunks: a bigger record (~30,000 files and
/// more) is let go once parsed, and read again when loaded again (memory over CPU on big hosts).
/// Not thread-safe, like the Store that owns it.
/// The most chunk content a ChunkDir keeps in memory after a read.
inline constexpr std::size_t max_kept_chunks = 4u << 20;

class ChunkDir {
  public:
    explicit ChunkDir(std::string dir) : dir_(std::move(dir)) {}

    /// Stores the chunks not yet present (a copy missing or cut short is written again):
    /// temp files, their data made durable, renamed, then one fsync of the folder. The number
    /// of files written is added to `*written` (for tests and measurements).
    [[nodiscard]] Status put(const std::vector<std::pair<std::string, std::string>> &chunks, std::size_t *written = nullptr);
    /// Makes the folder's entries durable (one fsync of the folder).
    [[nodiscard]] Status sync() const;
    /// Both copies of a chunk are there whole (their size; bytes are checked when read and by
    /// heal()): put() would write neither again.
    [[nodiscard]] bool stored(const std::string &id, std::size_t size) const;
    /// A chunk's content checked against its id: the copy when the first is damaged or missing,
    /// both mended from each other when each is damaged in other bytes. Errc::corrupt naming
    /// the chunk file otherwise.
    [[nodiscard]] Result<std::string> get(const std::string &id) const;
    /// The text an index makes: its header, the path chunks in bucket order, then the meta chunk.
    /// Errors name `where` (the index) and the chunk file.
    [[nodiscard]] Result<std::string> assemble(const ChunkIndex &index, const std::string &where) const;
    /// The same text as views of the chunks in order, the header left out, without putting it
    /// together (at 100,000 paths the text is ~17 MB). Valid until the next call on this ChunkDir.
    [[nodiscard]] Result<std::vector<std::string_view>> pieces(const ChunkIndex &index, const std::string &where) const;
    /// Reads both copies of a chunk from disk and rewrites a damaged or missing one from the sound
    /// one (or both, mended from each other); true when it did.
    bool heal(const std::string &id);
    /// Drops the chunks kept in memory (a later read reads and checks them from disk again).
    void forget() const {
        cache_.clear();
        cache_bytes_ = 0;
    }
    /// forget() when more than `max` bytes are kept.
    void bound(std::size_t max) const {
        if (cache_bytes_ > max) forget();
    }
    /// Removes every chunk not in `live` (all: none) and leftover temp files.
    void remove_unused(const std::set<std::string> &live, bool keep_all);

    /// The path of a chunk's first copy.
    [[nodiscard]] std::string path(const std::string &id) const { return dir_ + "/" + id; }

  private:
    /// get() without the copy: the cached content (valid until the cache is trimmed).
    [[nodiscard]] Result<const std::string *> fetch(const std::string &id) const;
    void remember(const std::string &id, std::string_view content) const;
    /// Keeps only the chunks of `index` once the cache holds well more than one record.
    void trim(const ChunkIndex &index, std::size_t record_size) const;
    std::string dir_;
    mutable std::unordered_map<std::string, std::string> cache_;
    mutable std::size_t cache_bytes_ = 0;
};

} // namespace fjord
