#pragma once
// The stat cache (STATE/statcache): what fjord last saw of each managed file, so that a drift
// pass hashes only files whose stat moved. Compact: one fixed-size record per file, keyed by a
// 64-bit hash of its path (the path itself lives in the generation), in a sorted vector that
// is stored as it is in memory, sealed, and read back with one read and no parsing per file.
#include "plan/generation.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fjord {

/// What fjord last saw of a managed file.
struct StatStamp {
    std::uint64_t ino = 0, size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    friend bool operator==(const StatStamp &, const StatStamp &) = default;
};

/// The stamps of the files one transaction wrote, by path.
using StampMap = std::unordered_map<std::string, StatStamp>;

/// The stamps of a generation's files, keyed by key_of(path).
class StatCache {
  public:
    struct Record {
        std::uint64_t key = 0;
        StatStamp stamp;
        friend bool operator==(const Record &, const Record &) = default;
    };

    /// An empty cache with a new random seed for its keys.
    StatCache();

    /// The key of a path: a 64-bit hash seeded by this cache's own random seed (kept in its
    /// file), so paths cannot be chosen to share a key. Two that do anyway keep no stamp (set,
    /// keep_only): a collision costs a hash, never a missed change.
    [[nodiscard]] std::uint64_t key_of(std::string_view path) const;

    [[nodiscard]] const StatStamp *find(std::uint64_t key) const;
    [[nodiscard]] const StatStamp *find(std::string_view path) const { return find(key_of(path)); }
    [[nodiscard]] std::size_t size() const { return records_.size(); }

    /// Sets these stamps (keys from key_of, any order).
    void set(std::vector<Record> records);
    /// Sets the stamps of the files a transaction wrote.
    void update(const StampMap &stamps);
    /// Drops the stamps of paths `files` does not hold (a new generation's).
    void keep_only(const FileTable &files);

    /// True when a record changed since the cache was read (or last saved): only then is it
    /// written again.
    [[nodiscard]] bool changed() const { return changed_; }
    void mark_saved() { changed_ = false; }

    /// The file's bytes: a seal line (util/hash.hpp), a format line, the seed, the records.
    [[nodiscard]] std::string encode() const;
    /// The cache encode() wrote; nullopt when the bytes are damaged, cut short, unsealed or of
    /// another format (an older fjord's text cache): the caller starts from an empty cache.
    [[nodiscard]] static std::optional<StatCache> decode(std::string_view bytes);

  private:
    std::uint64_t seed_ = 0;
    std::vector<Record> records_; ///< sorted by key, keys unique
    bool changed_ = false;
};

} // namespace fjord
