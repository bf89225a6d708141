#include "apply/store.hpp"
#include "test_support.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::test;

TEST_CASE("store: generations, current, history and pruning") {
    TempDir t;
    auto s = Store::open(t.path + "/state");
    REQUIRE(s);
    CHECK(*s->current() == 0);
    CHECK(*s->next_number() == 1);
    for (std::uint64_t n = 1; n <= 5; ++n) {
        Generation g;
        g.info = {n, "c" + std::to_string(n), 100 + std::int64_t(n), Outcome::good, ""};
        REQUIRE(s->save(g));
    }
    REQUIRE(s->set_current(2));
    CHECK(*s->current() == 2);
    CHECK(*s->next_number() == 6);
    REQUIRE(s->prune(2));
    auto h = s->history();
    REQUIRE(h);
    std::vector<std::uint64_t> left;
    for (auto &g : *h) left.push_back(g.number);
    CHECK(left == std::vector<std::uint64_t>{2, 5}); // current survives pruning
}

TEST_CASE("store: objects and a torn journal") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto id = blob_id("hello");
    REQUIRE(s.put_object(id, "hello"));
    CHECK(*s.get_object(id, 100) == "hello");
    CHECK_FALSE(s.get_object(blob_id("nope"), 100));

    Journal j{1, 2, "apply", {"/a b", "/c"}};
    REQUIRE(s.write_journal(j));
    auto back = s.journal();
    REQUIRE(back);
    REQUIRE(*back);
    CHECK((*back)->paths == j.paths);
    CHECK((*back)->to == 2);
    // Journals are written whole by rename: one cut short (or garbage) was damaged at rest,
    // and what it named is not known. It is reported as such, never taken for "no journal".
    spit(t.path + "/journal", "fjord-journal 1\nfrom 1\nto 2\np /a\n");
    back = s.journal();
    REQUIRE_FALSE(back);
    CHECK(back.error().code == Errc::corrupt);
    CHECK(back.error().message.find("cut short") != std::string::npos);
    spit(t.path + "/journal", "\x01\x02garbage");
    back = s.journal();
    REQUIRE_FALSE(back);
    CHECK(back.error().code == Errc::corrupt);
}

TEST_CASE("store: objects are checked against their id; lazy ones are made durable at once") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto id = blob_id("content");
    REQUIRE(s.put_object(id, "content", false));
    REQUIRE(s.sync_objects());
    CHECK(*s.get_object(id, 100) == "content");
    // Damaged on disk: refused as missing (so callers fall back to another copy), and removed
    // so that put_object can store it again.
    spit(t.path + "/objects/" + id.substr(0, 2) + "/" + id.substr(2), "contenT");
    auto bad = s.get_object(id, 100);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::not_found);
    CHECK(bad.error().message.find("damaged") != std::string::npos);
    CHECK_FALSE(s.has_object(id));
    REQUIRE(s.put_object(id, "content"));
    CHECK(*s.get_object(id, 100) == "content");
}

TEST_CASE("store: a files list damaged in both copies, in different bytes, is read and healed") {
    TempDir t;
    auto s = *Store::open(t.path);
    Generation g;
    g.info = {3, "c", 1, Outcome::good, ""};
    for (const char *p : {"/etc/app/3.conf", "/etc/app/6.conf", "/srv/www/2.html"}) {
        FileSpec f;
        f.path = p;
        f.id = blob_id(p);
        g.files[p] = AppliedFile{f, {}};
    }
    REQUIRE(s.save(g));
    std::string files = t.path + "/generations/3/files", intact = slurp(files);
    std::string a = intact, b = intact;
    a[a.find("6.conf")] ^= 0x04;
    b[b.find("3.conf")] ^= 0x40;
    b[50] ^= 0x01;
    spit(files, a);
    spit(files + ".copy", b);
    auto back = s.load_files(3);
    REQUIRE(back);
    CHECK(back->files.count("/etc/app/6.conf"));
    CHECK(back->files.count("/etc/app/3.conf"));
    CHECK(s.heal(3));
    CHECK(slurp(files) == intact);
    CHECK(slurp(files + ".copy") == intact);
    // The same byte flipped in both: nothing tells which is right; the load says so.
    a = intact;
    b = intact;
    a[a.find("6.conf")] ^= 0x04;
    b[b.find("6.conf")] ^= 0x08;
    spit(files, a);
    spit(files + ".copy", b);
    auto bad = s.load_files(3);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::corrupt);
}

TEST_CASE("store: a generation lists every object it needs, and prune keeps them") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto keep = blob_id("kept"), gone = blob_id("gone");
    REQUIRE(s.put_object(keep, "kept"));
    REQUIRE(s.put_object(gone, "gone"));
    for (std::uint64_t n = 1; n <= 3; ++n) {
        Generation g;
        g.info = {n, "c", 1, Outcome::good, ""};
        FileSpec f;
        f.path = "/etc/x";
        f.id = n == 1 ? gone : keep;
        g.files["/etc/x"] = AppliedFile{f, {}};
        REQUIRE(s.save(g));
    }
    REQUIRE(s.set_current(3));
    // A damaged list is rebuilt from its generation, never taken to mean "needs nothing".
    spit(t.path + "/generations/2/objects", "garbage line\n");
    REQUIRE(s.prune(2));
    CHECK(s.has_object(keep));
    CHECK_FALSE(s.has_object(gone)); // only generation 1, pruned, needed it
}

TEST_CASE("store: generation numbers, set aside, never reused") {
    TempDir t;
    auto s = *Store::open(t.path);
    for (std::uint64_t n = 1; n <= 3; ++n) {
        Generation g;
        g.info = {n, "c", 1, Outcome::good, ""};
        REQUIRE(s.save(g));
    }
    REQUIRE(s.set_aside(3));
    CHECK(*s.generation_numbers() == std::vector<std::uint64_t>{1, 2});
    CHECK(*s.next_number() == 4);
    REQUIRE(s.set_current(2));
    REQUIRE(s.clear_current());
    CHECK(*s.current() == 0);
}

TEST_CASE("store: flags and bad commits") {
    TempDir t;
    auto s = *Store::open(t.path);
    CHECK(s.flag("suspended").empty());
    REQUIRE(s.set_flag("suspended", "1"));
    CHECK(s.flag("suspended") == "1");
    REQUIRE(s.clear_flag("suspended"));
    CHECK(s.flag("suspended").empty());
    REQUIRE(s.mark_bad("abc"));
    CHECK(s.bad_commits().count("abc"));
    REQUIRE(s.mark_bad("def", "check web failed: status 404, body\nwith lines"));
    CHECK(s.bad_commits().at("def") == "check web failed: status 404, body\nwith lines");
    REQUIRE(s.clear_bad("def"));
    REQUIRE(s.clear_bad("abc"));
    CHECK(s.bad_commits().empty());
}

TEST_CASE("store: suspend, pin and resume") {
    TempDir t;
    auto s = *Store::open(t.path);
    REQUIRE(s.suspend());
    CHECK(s.flag("suspended") == "1");
    REQUIRE(s.pin(3));
    CHECK(s.flag("pinned") == "3");
    REQUIRE(s.resume()); // lifts both
    CHECK(s.flag("suspended").empty());
    CHECK(s.flag("pinned").empty());
}

TEST_CASE("store: check_kept names the generations that are kept") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto why = [&](std::uint64_t n) {
        auto k = s.check_kept(n);
        if (k) return std::string("kept");
        CHECK(k.error().code == Errc::not_found);
        return k.error().message;
    };
    CHECK(why(1) == "generation 1 does not exist (no generation is kept)");
    for (std::uint64_t n : {3, 12, 13, 14, 15, 31, 30, 29}) {
        Generation g;
        g.info = {n, "c", 100, Outcome::good, ""};
        REQUIRE(s.save(g));
    }
    CHECK(why(12) == "kept");
    CHECK(why(3) == "kept");
    CHECK(why(7) == "generation 7 is not kept (pruned); kept: 3, 12-15, 29-31");
    CHECK(why(1) == "generation 1 is not kept (pruned); kept: 3, 12-15, 29-31");
    CHECK(why(40) == "generation 40 does not exist (the newest is 31); kept: 3, 12-15, 29-31");
    // A generation whose header is unreadable is kept: load() says what is wrong with it.
    spit(t.path + "/generations/13/info", "garbage");
    CHECK(why(13) == "kept");
}
