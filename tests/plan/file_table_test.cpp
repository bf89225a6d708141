// The compact file table of a generation: every field of an entry survives, the order is
// std::map's, and it costs a fraction of what a map of AppliedFile did.
#include "plan/file_table.hpp"

#include <doctest/doctest.h>
#include <map>
#include <random>

using namespace fjord;

namespace {

AppliedFile sample(const std::string &path, unsigned n) {
    AppliedFile af;
    FileSpec &s = af.spec;
    s.path = path;
    s.kind = n % 3 == 0 ? FileKind::symlink : FileKind::file;
    if (s.kind == FileKind::symlink) s.target = "../t" + std::to_string(n);
    else s.id = std::string(40, "0123456789abcdef"[n % 16]);
    s.mode = n % 2 ? 0600 : 0644;
    s.owner = n % 5 == 0 ? "www-data" : "root";
    s.group = n % 7 == 0 ? "adm" : "root";
    s.origin = n % 4 == 0 ? "hosts/web1/includes/x.tmpl" : "hosts/web1/files" + path;
    if (n % 11 == 0) s.validate = {"visudo", "-cf", "%s"};
    s.secret = n % 13 == 0;
    if (s.secret) s.secret_mac = std::string(64, 'b');
    if (n % 6 == 1) {
        af.orig = Original{true, n % 12 == 1 ? FileKind::symlink : FileKind::file, std::string(40, 'c'), "old", 0640, 33, 44,
                           n % 12 == 7};
    }
    return af;
}

} // namespace

TEST_CASE("a file table keeps every field of every entry, in std::map's order") {
    std::mt19937 rng(7);
    std::map<std::string, AppliedFile> want;
    FileTable t;
    for (unsigned n = 0; n < 2000; ++n) {
        // Bytes above 0x7f sort after ASCII, as std::string compares them.
        std::string path = "/etc/" + std::to_string(rng() % 500) + (n % 9 == 0 ? "\xc3\xa9" : "") + "/f" + std::to_string(n % 37);
        auto af = sample(path, n);
        bool fresh = want.emplace(path, af).second;
        auto [it, added] = t.emplace(path, af);
        CHECK(added == fresh);
        CHECK(it.path() == path);
    }
    REQUIRE(t.size() == want.size());
    auto w = want.begin();
    for (const auto &[path, af] : t) {
        REQUIRE(w != want.end());
        CHECK(path == w->first);
        CHECK(af == w->second);
        ++w;
    }
    for (const auto &[path, af] : want) {
        CHECK(t.count(path) == 1);
        CHECK(t.at(path) == af);
        CHECK(t.find(path)->second == af);
    }
    CHECK(t.find("/nowhere") == t.end());
    CHECK_THROWS_AS((void)t.at("/nowhere"), std::out_of_range);
}

TEST_CASE("a file table replaces, erases and compares") {
    FileTable a, b;
    for (unsigned n = 0; n < 50; ++n) a.emplace("/f" + std::to_string(n), sample("/f" + std::to_string(n), n));
    for (unsigned n = 50; n-- > 0;) b.emplace("/f" + std::to_string(n), sample("/f" + std::to_string(n), n)); // out of order
    CHECK(a == b);

    auto first = sample("/f7", 7);
    CHECK_FALSE(a.emplace("/f7", sample("/f7", 8)).second); // emplace keeps what is there
    CHECK(a.at("/f7") == first);
    a.insert_or_assign("/f7", sample("/f7", 8));
    CHECK(a.at("/f7") == sample("/f7", 8));
    CHECK_FALSE(a == b);

    CHECK(a.erase("/f7") == 1);
    CHECK(a.erase("/f7") == 0);
    CHECK(a.size() == 49);
    CHECK_FALSE(a.contains("/f7"));
    a.clear();
    CHECK(a.empty());
    CHECK(a.begin() == a.end());
}

TEST_CASE("a spec's path is the table's key, and an origin that does not end with it is kept whole") {
    FileTable t;
    AppliedFile af = sample("/etc/x", 1);
    af.spec.origin = "hosts/web1/files/etc/x"; // ends with the path: stored as a shared prefix
    t.emplace("/etc/x", af);
    af.spec.origin = "x"; // shorter than the path
    t.emplace("/etc/y", af);
    CHECK(t.at("/etc/x").spec.origin == "hosts/web1/files/etc/x");
    CHECK(t.at("/etc/y").spec.origin == "x");
    CHECK(t.at("/etc/y").spec.path == "/etc/y");

    // Ids of 40 lowercase hex digits are kept as 20 bytes; any other id as it is.
    for (std::string id : {std::string(40, 'A'), std::string(39, 'a'), std::string("0123456789abcdef0123456789abcdef01234567"), std::string()}) {
        AppliedFile x = sample("/etc/z", 2);
        x.spec.id = id;
        x.orig = Original{true, FileKind::file, id, "", 0600, 0, 0};
        t.insert_or_assign("/etc/z", x);
        CHECK(t.at("/etc/z") == x);
    }
}

TEST_CASE("a file table costs a fraction of a map of AppliedFile") {
    FileTable t;
    for (unsigned n = 0; n < 10'000; ++n) {
        char path[64];
        std::snprintf(path, sizeof path, "/etc/app%03u/conf%02u/file%02u.conf", n / 500, n / 20 % 25, n % 20);
        AppliedFile af;
        af.spec.path = path;
        af.spec.id = std::string(40, 'a');
        af.spec.origin = std::string("hosts/h1/files") + path;
        t.emplace(path, af);
    }
    t.shrink_to_fit(); // as a generation read or planned is
    // 96-byte records plus the path and the id (20 bytes) in the arena; a std::map node alone was 424 bytes.
    CHECK(t.memory() / t.size() < 160);
}
