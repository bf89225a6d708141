#include "apply/stat_cache.hpp"

#include "util/hash.hpp"
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <sys/random.h>

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

StatCache::StatCache() {
    // A seed nobody outside STATE knows: paths in a repository cannot be made to share a key.
    // Should getrandom fail, the clock still differs from host to host and run to run.
    if (::getrandom(&seed_, sizeof seed_, 0) != sizeof seed_)
        seed_ = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

// Eight bytes at a time through a strong mixer, from the seed: ~0.3 ms for 10,000 paths.
std::uint64_t StatCache::key_of(std::string_view path) const {
    std::uint64_t h = seed_ ^ path.size();
    std::size_t i = 0;
    for (; i + 8 <= path.size(); i += 8) h = fmix(h ^ get_u64(path.data() + i));
    std::uint64_t w = 0;
    for (std::size_t k = 0; i + k < path.size(); ++k) w |= std::uint64_t(static_cast<unsigned char>(path[i + k])) << (8 * k);
    return fmix(h ^ w);
}

// Keys are uniform (a seeded hash), so a key's record lies near key / 2^64 of the way along:
// the search starts there and gallops outwards, touching a few neighbouring records where a
// binary search over the whole would touch 14 cache lines of a 10,000-record cache.
const StatStamp *StatCache::find(std::uint64_t key) const {
    std::size_t n = records_.size();
    if (n == 0) return nullptr;
    // The key's top 32 bits times n: no overflow below 2^32 records (a file of 160 GiB).
    auto g = static_cast<std::size_t>(((key >> 32) * n) >> 32);
    if (g >= n) g = n - 1;
    std::size_t lo = 0, hi = n; // the first record not below key is in [lo, hi]
    if (records_[g].key < key) {
        lo = g + 1;
        for (std::size_t step = 1;; step *= 2) {
            std::size_t p = lo + step - 1;
            if (p >= n) break;
            if (records_[p].key >= key) {
                hi = p;
                break;
            }
            lo = p + 1;
        }
    } else {
        hi = g;
        for (std::size_t step = 1; step <= hi; step *= 2) {
            std::size_t p = hi - step;
            if (records_[p].key < key) {
                lo = p + 1;
                break;
            }
            hi = p;
        }
    }
    auto it = std::lower_bound(records_.begin() + static_cast<std::ptrdiff_t>(lo),
                               records_.begin() + static_cast<std::ptrdiff_t>(hi), Record{key, {}}, by_key);
    return it != records_.end() && it->key == key ? &it->stamp : nullptr;
}

void StatCache::set(std::vector<Record> records) {
    std::sort(records.begin(), records.end(), by_key);
    std::vector<Record> added;
    std::vector<std::uint64_t> shared; // keys two paths share: neither keeps a stamp
    for (std::size_t i = 0, j; i < records.size(); i = j) {
        for (j = i + 1; j < records.size() && records[j].key == records[i].key;) ++j;
        const Record &r = records[i];
        auto it = std::lower_bound(records_.begin(), records_.end(), r, by_key);
        bool there = it != records_.end() && it->key == r.key;
        if (j > i + 1) {
            if (there) shared.push_back(r.key);
        } else if (!there) {
            added.push_back(r);
        } else if (it->stamp != r.stamp) {
            it->stamp = r.stamp;
            changed_ = true;
        }
    }
    if (!shared.empty()) {
        std::erase_if(records_, [&](const Record &r) { return std::binary_search(shared.begin(), shared.end(), r.key); });
        changed_ = true;
    }
    if (!added.empty()) {
        auto mid = static_cast<std::ptrdiff_t>(records_.size());
        records_.insert(records_.end(), added.begin(), added.end());
        std::inplace_merge(records_.begin(), records_.begin() + mid, records_.end(), by_key);
        changed_ = true;
    }
}

void StatCache::update(const StampMap &stamps) {
    std::vector<Record> r;
    r.reserve(stamps.size());
    for (const auto &[path, stamp] : stamps) r.push_back({key_of(path), stamp});
    set(std::move(r));
}

void StatCache::keep_only(const FileTable &files) {
    std::vector<Record> keys;
    keys.reserve(files.size());
    for (auto it = files.begin(); it != files.end(); ++it) keys.push_back({key_of(it.path()), {}});
    sort_unique(keys); // a key two paths share keeps no stamp
    std::size_t out = 0;
    for (const auto &r : records_)
        if (std::binary_search(keys.begin(), keys.end(), r, by_key)) records_[out++] = r;
    if (out != records_.size()) changed_ = true;
    records_.resize(out);
}

std::string StatCache::encode() const {
    std::string body(format_line);
    body.resize(format_line.size() + 8 + records_.size() * record_size);
    char *p = body.data() + format_line.size();
    put_u64(p, seed_);
    p += 8;
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
    if (body->size() < 8 || (body->size() - 8) % record_size) return std::nullopt;
    StatCache c;
    c.seed_ = get_u64(body->data());
    c.records_.resize((body->size() - 8) / record_size);
    const char *p = body->data() + 8;
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
