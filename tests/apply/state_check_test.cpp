#include "apply/state_check.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::test;

namespace {

// A store with generations 1 (good), 2 (rolled back), 3 (good, current), each managing a file.
struct Fixture {
    TempDir t;
    Store s = *Store::open(t.path);
    Fixture() {
        for (std::uint64_t n = 1; n <= 3; ++n) {
            Generation g;
            g.info = {n, "c" + std::to_string(n), 1, n == 2 ? Outcome::rolled_back : Outcome::good, ""};
            FileSpec f;
            f.path = "/etc/f" + std::to_string(n);
            f.id = blob_id("f" + std::to_string(n));
            g.files.insert_or_assign(f.path, AppliedFile{f, {}});
            g.dirs.insert("/etc");
            REQUIRE(s.save(g));
        }
        REQUIRE(s.set_current(3));
    }
    std::string gen(std::uint64_t n, const char *file) { return t.path + "/generations/" + std::to_string(n) + "/" + file; }
};

} // namespace

TEST_CASE("state check: a sound state dir is left as it is") {
    Fixture f;
    auto c = check_state(f.s);
    REQUIRE(c);
    CHECK(c->rebuilt.empty());
    CHECK(c->damage.empty());
    CHECK(*f.s.current() == 3);
}

TEST_CASE("state check: a lost or garbage `current` is the newest good generation again") {
    for (const char *fault : {"delete", "garbage", "empty", "zero"}) {
        CAPTURE(fault);
        Fixture f;
        std::string cur = f.t.path + "/current";
        if (std::string(fault) == "delete") std::filesystem::remove(cur);
        else spit(cur, std::string(fault) == "garbage" ? "\x7f\x01zz" : std::string(fault) == "zero" ? "0\n" : "");
        auto c = check_state(f.s);
        REQUIRE(c);
        CHECK(c->damage.empty());
        REQUIRE(c->rebuilt.size() == 1);
        CHECK(c->rebuilt[0].find("rebuilt as generation 3") != std::string::npos);
        CHECK(*f.s.current() == 3);
    }
}

TEST_CASE("state check: no good generation at all is a state that never applied, not damage") {
    TempDir t;
    auto s = *Store::open(t.path);
    Generation g;
    g.info = {1, "c1", 1, Outcome::rolled_back, ""};
    REQUIRE(s.save(g));
    auto c = check_state(s);
    REQUIRE(c);
    CHECK(c->damage.empty());
    CHECK(*s.current() == 0);
}

TEST_CASE("state check: one damaged copy of a generation's record is rewritten from the other") {
    Fixture f;
    spit(f.gen(3, "files"), "fjord-files 2\nf broken\n");
    std::filesystem::remove(f.gen(3, "info.copy"));
    auto c = check_state(f.s);
    REQUIRE(c);
    CHECK(c->damage.empty());
    REQUIRE(c->rebuilt.size() == 1);
    CHECK(c->rebuilt[0].find("rewritten from the sound one") != std::string::npos);
    CHECK(f.s.load(3)->files.count("/etc/f3"));
    CHECK(slurp(f.gen(3, "files")) == slurp(f.gen(3, "files.copy")));
    CHECK(std::filesystem::exists(f.gen(3, "info.copy")));
}

TEST_CASE("state check: the current generation's lost header is rebuilt from its files") {
    Fixture f;
    std::filesystem::remove(f.gen(3, "info"));
    std::filesystem::remove(f.gen(3, "info.copy"));
    auto c = check_state(f.s, "c3c3c3");
    REQUIRE(c);
    CHECK(c->damage.empty());
    REQUIRE(c->rebuilt.size() == 1);
    auto info = f.s.load_info(3);
    REQUIRE(info);
    CHECK(info->outcome == Outcome::good);
    CHECK(info->commit == "c3c3c3");
    CHECK(f.s.load(3));
}

TEST_CASE("state check: the current generation's file list damaged is named, and repair falls back") {
    Fixture f;
    spit(f.gen(3, "files"), "fjord-files 2\nf broken\n");
    spit(f.gen(3, "files.copy"), "sealed 0000000000000000000000000000000000000000\nfjord-files 2\n");
    auto c = check_state(f.s);
    REQUIRE(c);
    CHECK(c->damage.find("generations/3/files") != std::string::npos);
    CHECK(c->repair.find("generation 1") != std::string::npos); // 2 was rolled back
    CHECK(*f.s.current() == 3); // nothing changed by the check
    auto done = repair_state(f.s);
    REQUIRE(done);
    CHECK(*f.s.current() == 1);
    CHECK(std::filesystem::exists(f.t.path + "/generations/3.broken"));
    CHECK(*f.s.next_number() == 4); // 3 is never used again
    auto again = check_state(f.s);
    REQUIRE(again);
    CHECK(again->damage.empty());
}

TEST_CASE("state check: `current` naming a missing generation; with nothing intact repair starts afresh") {
    Fixture f;
    std::filesystem::remove_all(f.t.path + "/generations");
    std::filesystem::create_directories(f.t.path + "/generations");
    auto c = check_state(f.s);
    REQUIRE(c);
    CHECK(c->damage.find("names generation 3, which is missing") != std::string::npos);
    CHECK(c->repair.find("start afresh") != std::string::npos);
    REQUIRE(repair_state(f.s));
    CHECK(*f.s.current() == 0);
    CHECK(check_state(f.s)->damage.empty());
}

TEST_CASE("state check: mid-transaction, `current` is the journal's `from` unless the pending generation committed") {
    // A pending generation 4 (3 -> 4) with its journal, and `current` flipped to another number.
    auto pending = [](Fixture &f, Outcome o) {
        Generation g;
        g.info = {4, "c4", 1, o, ""};
        REQUIRE(f.s.save(g));
        REQUIRE(f.s.write_journal(Journal{3, 4, "apply", {"/etc/f3"}}));
    };
    for (std::uint64_t named : {1, 2, 4}) {
        CAPTURE(named);
        Fixture f;
        pending(f, Outcome::pending);
        REQUIRE(f.s.set_current(named));
        auto c = check_state(f.s);
        REQUIRE(c);
        CHECK(c->damage.empty());
        REQUIRE(c->rebuilt.size() == 1);
        CHECK(c->rebuilt[0].find("started from generation 3; set to 3") != std::string::npos);
        CHECK(*f.s.current() == 3);
    }
    SUBCASE("a generation marked good before the crash is the committed one") {
        Fixture f;
        pending(f, Outcome::good);
        REQUIRE(f.s.set_current(4));
        auto c = check_state(f.s);
        REQUIRE(c);
        CHECK(c->rebuilt.empty());
        CHECK(*f.s.current() == 4);
    }
}

TEST_CASE("state check: flags that make no sense are put right") {
    Fixture f;
    REQUIRE(f.s.set_flag("pinned", "seven"));
    REQUIRE(f.s.set_flag("root", "not a path"));
    auto c = check_state(f.s);
    REQUIRE(c);
    CHECK(c->rebuilt.size() == 2);
    CHECK(f.s.flag("pinned") == "3");
    CHECK(f.s.flag("root").empty());
}

TEST_CASE("full recovery journal: every path of both generations") {
    Generation from, to;
    from.info.number = 3;
    to.info.number = 4;
    FileSpec a, b;
    a.path = "/etc/a";
    b.path = "/srv/b";
    from.files.insert_or_assign("/etc/a", AppliedFile{a, {}});
    to.files.insert_or_assign("/srv/b", AppliedFile{b, {}});
    to.dirs.insert("/srv");
    Journal j = full_recovery_journal(from, &to);
    CHECK(j.from == 3);
    CHECK(j.to == 4);
    CHECK(j.paths == std::vector<std::string>{"/etc/a", "/srv", "/srv/b"});
    CHECK(full_recovery_journal(from, nullptr).to == 3);
}
