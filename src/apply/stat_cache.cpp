#include "apply/stat_cache.hpp"

#include "util/hash.hpp"
#include <algorithm>
#include <bit>
#include <cstring>

namespace fjord {
namespace {

constexpr std::string_view format_line = "fjord statcache 2\n";
constexpr std::size_t record_size = 40; // key, ino, size, mtime_ns, ctime_ns: 5 x 8 bytes
static_assert(sizeof(StatCache::Record) == record_size);

std::uint64_t to_le(std::uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) return v;
    else return __builtin_bswap64(v);
}

// murmur3's 64-bit finaliser.
std::uint64_t fmix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

bool by_key(const StatCache::Record &a, const StatCache::Record &b) { return a.key < b.key; }

// Sorts by key and drops every record whose key occurs more than once: two paths sharing a key
// must not lend each other a stamp.
void sort_unique(std::vector<StatCache::Record> &r) {
    std::sort(r.begin(), r.end(), by_key);
    std::size_t out = 0;
    for (std::size_t i = 0; i < r.size();) {
        std::size_t j = i + 1;
        while (j < r.size() && r[j].key == r[i].key) ++j;
        if (j == i + 1) r[out++] = r[i];
        i = j;
    }
    r.resize(out);
}

void put_u64(char *p, std::uint64_t v) {
    v = to_le(v);
    std::memcpy(p, &v, 8);
}

std::uint64_t get_u64(const char *p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return to_le(v);
}

} // namespace

// Eight bytes at a time through a strong mixer: ~0.3 ms for 10,000 paths. Not a cryptographic
// hash (see the header on collisions).
std::uint64_t StatCache::key_of(std::string_view path) {
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ path.size();
    std::size_t i = 0;
    for (; i + 8 <= path.size(); i += 8) h = fmix(h ^ get_u64(path.data() + i));
    if (i < path.size()) {
        std::uint64_t w = 0;
        for (std::size_t k = 0; i + k < path.size(); ++k) w |= std::uint64_t(static_cast<unsigned char>(path[i + k])) << (8 * k);
        h = fmix(h ^ w);
    }
    return h;
}

const StatStamp *StatCache::find(std::uint64_t key) const {
    auto it = std::lower_bound(records_.begin(), records_.end(), Record{key, {}}, by_key);
    return it != records_.end() && it->key == key ? &it->stamp : nullptr;
}

void StatCache::replace(std::vector<Record> records) {
    sort_unique(records);
    if (records != records_) changed_ = true;
    records_ = std::move(records);
}

void StatCache::update(const StampMap &stamps) {
    std::vector<Record> added;
    for (const auto &[path, stamp] : stamps) {
        Record r{key_of(path), stamp};
        auto it = std::lower_bound(records_.begin(), records_.end(), r, by_key);
        if (it == records_.end() || it->key != r.key) added.push_back(r);
        else if (it->stamp != stamp) {
            it->stamp = stamp;
            changed_ = true;
        }
    }
    if (added.empty()) return;
    sort_unique(added);
    auto mid = static_cast<std::ptrdiff_t>(records_.size());
    records_.insert(records_.end(), added.begin(), added.end());
    std::inplace_merge(records_.begin(), records_.begin() + mid, records_.end(), by_key);
    changed_ = true;
}

void StatCache::keep_only(const std::map<std::string, AppliedFile> &files) {
    std::vector<Record> keys;
    keys.reserve(files.size());
    for (const auto &f : files) keys.push_back({key_of(f.first), {}});
    sort_unique(keys); // a key two paths share keeps no stamp
    std::size_t out = 0;
    for (const auto &r : records_)
        if (std::binary_search(keys.begin(), keys.end(), r, by_key)) records_[out++] = r;
    if (out != records_.size()) changed_ = true;
    records_.resize(out);
}

std::string StatCache::encode() const {
    std::string body(format_line);
    body.resize(format_line.size() + records_.size() * record_size);
    char *p = body.data() + format_line.size();
    for (const auto &r : records_) {
        put_u64(p, r.key);
        put_u64(p + 8, r.stamp.ino);
        put_u64(p + 16, r.stamp.size);
        put_u64(p + 24, static_cast<std::uint64_t>(r.stamp.mtime_ns));
        put_u64(p + 32, static_cast<std::uint64_t>(r.stamp.ctime_ns));
        p += record_size;
    }
    return sealed(body);
}

std::optional<StatCache> StatCache::decode(std::string_view bytes) {
    if (!bytes.starts_with("sealed ")) return std::nullopt; // unsealed: an older fjord's text
    auto body = unsealed(bytes, "statcache");
    if (!body || !body->starts_with(format_line)) return std::nullopt;
    body->remove_prefix(format_line.size());
    if (body->size() % record_size) return std::nullopt;
    StatCache c;
    c.records_.resize(body->size() / record_size);
    const char *p = body->data();
    for (auto &r : c.records_) {
        r.key = get_u64(p);
        r.stamp.ino = get_u64(p + 8);
        r.stamp.size = get_u64(p + 16);
        r.stamp.mtime_ns = static_cast<std::int64_t>(get_u64(p + 24));
        r.stamp.ctime_ns = static_cast<std::int64_t>(get_u64(p + 32));
        p += record_size;
    }
    // Written sorted and unique; anything else was not written by encode().
    for (std::size_t i = 1; i < c.records_.size(); ++i)
        if (c.records_[i - 1].key >= c.records_[i].key) return std::nullopt;
    return c;
}

} // namespace fjord
