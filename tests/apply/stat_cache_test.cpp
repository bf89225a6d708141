// The stat cache: sorted fixed-size records, sealed and stored as they are; a damaged or foreign
// file is dropped (the next drift pass hashes everything again); an unchanged one is not written.
#include "apply/stat_cache.hpp"
#include "apply/store.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <random>
#include <sys/stat.h>

using namespace fjord;
using namespace fjord::test;

namespace {

StampMap stamps(std::size_t n, std::uint64_t salt = 0) {
    StampMap m;
    for (std::size_t i = 0; i < n; ++i)
        m["/etc/app" + std::to_string(i % 17) + "/file" + std::to_string(i)] = {i + 1, i * 3 + salt, std::int64_t(i) * 1000 + 7,
                                                                              -std::int64_t(i) - 1};
    return m;
}

struct stat stat_of(const std::string &p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st;
}

} // namespace

TEST_CASE("stat cache: round trip through the store, every stamp found by its path") {
    TempDir t;
    auto s = Store::open(t.path + "/state");
    REQUIRE(s);
    StatCache c;
    CHECK_FALSE(c.changed());
    auto m = stamps(1000);
    c.update(m);
    CHECK(c.changed());
    CHECK(c.size() == 1000);
    REQUIRE(s->save_stat_cache(c));
    CHECK_FALSE(c.changed());
    CHECK(stat_of(s->path("statcache")).st_size == 48 + 18 + 8 + 1000 * 40); // seal, format line, seed, records

    StatCache back = s->load_stat_cache();
    CHECK_FALSE(back.changed());
    REQUIRE(back.size() == 1000);
    for (const auto &[p, st] : m) {
        const StatStamp *f = back.find(p);
        REQUIRE(f);
        CHECK(*f == st);
    }
    CHECK_FALSE(back.find("/etc/not-there"));
    CHECK(back.encode() == c.encode());
}

TEST_CASE("stat cache: a damaged, cut-short, foreign or older file is dropped") {
    TempDir t;
    auto s = Store::open(t.path + "/state");
    REQUIRE(s);
    StatCache c;
    c.update(stamps(50));
    REQUIRE(s->save_stat_cache(c));
    std::string good = slurp(s->path("statcache"));
    REQUIRE(s->load_stat_cache().size() == 50);

    auto loads_empty = [&](const std::string &bytes) {
        spit(s->path("statcache"), bytes);
        return s->load_stat_cache().size() == 0;
    };
    std::string flipped = good;
    flipped[good.size() - 13] ^= 0x10; // a stamp's byte
    CHECK(loads_empty(flipped));
    flipped = good;
    flipped[50] ^= 0x01; // the format line
    CHECK(loads_empty(flipped));
    CHECK(loads_empty(good.substr(0, good.size() - 40))); // a record cut off: the seal fails
    CHECK(loads_empty(good.substr(0, 30)));
    CHECK(loads_empty(""));
    CHECK(loads_empty(std::string(4096, '\xa5')));
    // An older fjord's text cache: one stamp a line, unsealed.
    CHECK(loads_empty("12 34 1700000000000000000 1700000000000000000 /etc/a\n"));
    // Sealed, but another format, or a record cut short.
    CHECK(loads_empty(sealed("fjord statcache 1\n" + std::string(8, '\0') + std::string(40, '\1'))));
    CHECK(loads_empty(sealed("fjord statcache 2\n" + std::string(8, '\0') + std::string(39, '\1'))));
    // Sealed, with this format line, but records that are not sorted: not what encode() wrote.
    std::string body = "fjord statcache 2\n" + std::string(8, '\0') + std::string(40, '\2') + std::string(40, '\1');
    CHECK(loads_empty(sealed(body)));
    // Missing altogether.
    std::filesystem::remove(s->path("statcache"));
    CHECK(s->load_stat_cache().size() == 0);
    // And the good one still loads.
    spit(s->path("statcache"), good);
    CHECK(s->load_stat_cache().size() == 50);
}

TEST_CASE("stat cache: unchanged is not written again; changed is") {
    TempDir t;
    auto s = Store::open(t.path + "/state");
    REQUIRE(s);
    StatCache c;
    c.update(stamps(20));
    REQUIRE(s->save_stat_cache(c));
    auto first = stat_of(s->path("statcache"));

    StatCache again = s->load_stat_cache();
    again.update(stamps(20)); // the same stamps
    CHECK_FALSE(again.changed());
    REQUIRE(s->save_stat_cache(again));
    // Written by tmp -> rename: a rewrite would be a new inode.
    CHECK(stat_of(s->path("statcache")).st_ino == first.st_ino);

    again.update(stamps(20, 1)); // every size moved
    CHECK(again.changed());
    REQUIRE(s->save_stat_cache(again));
    CHECK(stat_of(s->path("statcache")).st_ino != first.st_ino);
    CHECK_FALSE(std::filesystem::exists(s->path("statcache.tmp")));
}

TEST_CASE("stat cache: set, update and keep_only keep the records sorted and unique") {
    StatCache c;
    std::mt19937_64 rng(3);
    std::map<std::uint64_t, StatStamp> want;
    for (int round = 0; round < 20; ++round) {
        std::vector<StatCache::Record> batch;
        for (int i = 0; i < 200; ++i) {
            // Keys from a small range collide with earlier rounds (updates) as well as add new ones.
            std::uint64_t key = round % 2 ? rng() : rng() % 4000 * 0x0123456789abcdull;
            StatStamp st{rng(), rng() % 100, std::int64_t(rng() % 1000), std::int64_t(i)};
            if (!std::count_if(batch.begin(), batch.end(), [&](const auto &r) { return r.key == key; })) {
                batch.push_back({key, st});
                want[key] = st;
            }
        }
        c.set(batch);
        REQUIRE(c.size() == want.size());
        for (const auto &[k, st] : want) {
            const StatStamp *f = c.find(k);
            REQUIRE(f);
            CHECK(*f == st);
        }
        for (int i = 0; i < 200; ++i) {
            std::uint64_t k = rng();
            if (!want.count(k)) CHECK_FALSE(c.find(k));
        }
    }
    auto back = StatCache::decode(c.encode());
    REQUIRE(back);
    CHECK(back->size() == c.size());

    // Two paths given one key in one batch (a collision): neither keeps a stamp.
    std::uint64_t k = want.begin()->first;
    c.set({{k, {1, 1, 1, 1}}, {k, {2, 2, 2, 2}}});
    CHECK_FALSE(c.find(k));

    // keep_only: the stamps of a generation's paths, nothing else.
    StatCache g;
    g.update({{"/a", {1, 1, 1, 1}}, {"/b", {2, 2, 2, 2}}, {"/c", {3, 3, 3, 3}}});
    g.mark_saved();
    FileTable files;
    for (const char *p : {"/a", "/c", "/d"}) files.emplace(p, {});
    g.keep_only(files);
    CHECK(g.changed());
    CHECK(g.size() == 2);
    CHECK(g.find("/a"));
    CHECK_FALSE(g.find("/b"));
    CHECK(g.find("/c"));
    g.mark_saved();
    g.keep_only(files);
    CHECK_FALSE(g.changed());
}

TEST_CASE("stat cache: keys are seeded per cache, kept with it") {
    StatCache a, b;
    CHECK(a.key_of("/etc/passwd") != b.key_of("/etc/passwd"));
    CHECK(a.key_of("/etc/passwd") != a.key_of("/etc/passwd "));
    CHECK(a.key_of("") != a.key_of(std::string(1, '\0')));
    a.update({{"/etc/passwd", {1, 2, 3, 4}}});
    auto back = StatCache::decode(a.encode());
    REQUIRE(back);
    CHECK(back->key_of("/etc/passwd") == a.key_of("/etc/passwd"));
    CHECK(back->find("/etc/passwd"));
}
