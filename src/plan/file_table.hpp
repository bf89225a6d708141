#pragma once
// A generation's files, held compactly: one fixed-size record a path, sorted by path, whose
// strings live in one arena (owners, groups and origin prefixes stored once). At 100,000 files a
// std::map<std::string, AppliedFile> took ~640 B a file (a 424-byte tree node and four heap
// strings); this takes ~170 B. Reading an entry builds an AppliedFile: callers read values and
// set whole entries, never change one in place.
#include "manifest/desired_state.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fjord {

/// What a host path held before fjord first wrote it. `existed == false` means fjord created
/// the path, so fjord may delete it; otherwise the original comes back when Git drops the path.
struct Original {
    bool existed = false;
    FileKind kind = FileKind::file;
    std::string id;      ///< content id in the object store (files)
    std::string target;  ///< link target (symlinks)
    unsigned mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    bool sealed = false; ///< content stored age-encrypted to the host: the original of a secret's path

    friend bool operator==(const Original &, const Original &) = default;
};

/// One managed path of a generation.
struct AppliedFile {
    FileSpec spec;
    Original orig;

    friend bool operator==(const AppliedFile &, const AppliedFile &) = default;
};

/// Path -> AppliedFile, ordered by path like std::map<std::string, ...>, with the parts of a
/// map's interface fjord uses. Iterators hand out a built (path, AppliedFile) pair that lives
/// as long as the iterator; any change to the table invalidates every iterator. A table over
/// 4 GiB of strings throws std::length_error (make_plan refuses such a commit).
class FileTable {
public:
    using value_type = std::pair<std::string, AppliedFile>;

    /// An input iterator: what it hands out lives inside it, so `*it` is not valid past `it`
    /// (no std::reverse_iterator, no `const auto &x = *std::find_if(...)`).
    class const_iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = FileTable::value_type;
        using difference_type = std::ptrdiff_t;
        using pointer = const value_type *;
        using reference = const value_type &;

        const_iterator() = default;
        reference operator*() const { return load(); }
        pointer operator->() const { return &load(); }
        const_iterator &operator++() {
            ++i_;
            cur_.reset();
            return *this;
        }
        const_iterator operator++(int) {
            auto old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const const_iterator &a, const const_iterator &b) { return a.i_ == b.i_; }
        /// The entry's path and kind, without building the entry.
        [[nodiscard]] std::string_view path() const;
        [[nodiscard]] FileKind kind() const;

    private:
        friend class FileTable;
        const_iterator(const FileTable *t, std::size_t i) : t_(t), i_(i) {}
        const value_type &load() const;
        const FileTable *t_ = nullptr;
        std::size_t i_ = 0;
        mutable std::optional<value_type> cur_;
    };
    using iterator = const_iterator;

    [[nodiscard]] const_iterator begin() const { return {this, 0}; }
    [[nodiscard]] const_iterator end() const { return {this, recs_.size()}; }
    [[nodiscard]] std::size_t size() const { return recs_.size(); }
    [[nodiscard]] bool empty() const { return recs_.empty(); }

    [[nodiscard]] const_iterator find(std::string_view path) const;
    /// The first entry whose path is not less than `path`.
    [[nodiscard]] const_iterator lower_bound(std::string_view path) const { return {this, index_of(path)}; }
    [[nodiscard]] std::size_t count(std::string_view path) const { return find(path) != end() ? 1 : 0; }
    [[nodiscard]] bool contains(std::string_view path) const { return count(path) != 0; }
    /// The entry of `path`; std::out_of_range when there is none (as std::map::at).
    [[nodiscard]] const AppliedFile at(std::string_view path) const;

    /// Adds `path` unless it is there (then nothing changes); the entry's spec.path is `path`.
    /// Adding in path order (how generations are read and planned) costs O(1).
    std::pair<const_iterator, bool> emplace(std::string_view path, const AppliedFile &af);
    /// Adds `path` or replaces its entry.
    void insert_or_assign(std::string_view path, const AppliedFile &af);
    /// Removes `path`; 1 when it was there.
    std::size_t erase(std::string_view path);
    void clear();
    /// Room for `records` entries (the arena still grows as it needs).
    void reserve(std::size_t records) { recs_.reserve(records); }
    /// Gives back what growing by doubling left unused (once a table is built).
    void shrink_to_fit() {
        recs_.shrink_to_fit();
        arena_.shrink_to_fit();
    }

    /// The bytes the table holds (records, arena, interned strings), for the README's sizing.
    [[nodiscard]] std::size_t memory() const;

    friend bool operator==(const FileTable &a, const FileTable &b);

private:
    struct Str {
        std::uint32_t off = 0, len = 0;
    };
    enum Flags : std::uint8_t {
        secret = 1,
        existed = 2,
        sealed = 4,
        origin_prefix = 8,
        symlink = 16,
        orig_symlink = 32,
        id_bin = 64,       ///< id is 40 hex digits, kept as its 20 bytes
        orig_id_bin = 128, ///< the same for orig.id
    };
    struct Rec {
        Str path, id, target, owner, group, origin, secret_mac, orig_id, orig_target;
        std::uint32_t validate = 0; ///< 1 + index into validates_; 0 = none
        std::uint32_t mode = 0, orig_mode = 0, orig_uid = 0, orig_gid = 0;
        std::uint8_t flags = 0;
    };

    [[nodiscard]] std::string_view str(Str s) const { return {arena_.data() + s.off, s.len}; }
    Str put(std::string_view s);
    /// A 40-hex-digit id as its 20 bytes (true), or as it is.
    bool put_id(std::string_view id, Str &out);
    [[nodiscard]] std::string id_of(Str s, bool bin) const;
    Str intern(std::string_view s);
    Rec encode(std::string_view path, const AppliedFile &af);
    [[nodiscard]] value_type entry(std::size_t i) const;
    [[nodiscard]] std::size_t index_of(std::string_view path) const;

    std::vector<Rec> recs_;
    std::string arena_;
    std::unordered_map<std::string, Str> interned_;
    std::vector<std::vector<std::string>> validates_;
};

} // namespace fjord
