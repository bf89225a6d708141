#include "cli/status_cmd.hpp"

#include <doctest/doctest.h>

using namespace fjord;

TEST_CASE("a generation's change summary becomes numbers for --json") {
    auto c = parse_change_summary("+8 ~0 -0, 0 units");
    REQUIRE(c);
    CHECK(c->added == 8);
    CHECK(c->changed == 0);
    CHECK(c->removed == 0);
    CHECK(c->units == 0);
    c = parse_change_summary("+2 ~13 -4, 1 unit");
    REQUIRE(c);
    CHECK((c->added == 2 && c->changed == 13 && c->removed == 4 && c->units == 1));
    CHECK_FALSE(parse_change_summary(""));            // generations from before it was kept
    CHECK_FALSE(parse_change_summary("+1 ~2"));
    CHECK_FALSE(parse_change_summary("+1 ~2 -3, 4 unitz"));
    CHECK_FALSE(parse_change_summary("+1 ~2 -3, 4 units extra"));
}

TEST_CASE("status' exit code follows systemctl status: 0 running and good, 1 failed or paused, 3 not running") {
    CHECK(status_exit_code(true, "up-to-date", "", "applied") == 0);
    CHECK(status_exit_code(true, "applied", "", "") == 0);
    // A wave gate holding the newest commit back: the host is where its rollout wants it.
    CHECK(status_exit_code(true, "waiting", "", "waiting") == 0);
    CHECK(status_exit_code(false, "applied", "", "applied") == 3);
    CHECK(status_exit_code(false, "failed", "", "failed") == 3);
    CHECK(status_exit_code(true, "failed", "", "applied") == 1);
    // The newest commit failed: the next polls say "failed before" (failed), or up to date.
    CHECK(status_exit_code(true, "up-to-date", "", "rolled-back") == 1);
    CHECK(status_exit_code(true, "refused", "", "refused") == 1);
    CHECK(status_exit_code(true, "suspended", "suspended", "applied") == 1);
}

TEST_CASE("history's NOTE is cut to the room left, counting characters, not bytes") {
    CHECK(fit("short", 0) == "short");
    CHECK(fit("short", 10) == "short");
    CHECK(fit("0123456789abc", 10) == "0123456...");
    CHECK(fit("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5) == "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    CHECK(fit("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5) == "\xc3\xa9\xc3\xa9...");
    CHECK(fit("abcdef", 2) == "..");
}

TEST_CASE("history interleaves generations and attempts in the order they were judged; show picks an entry by number or commit prefix") {
    std::vector<GenerationInfo> gens(2);
    gens[0].number = 1, gens[0].commit = "aaaaaaa1111", gens[0].time = 10;
    gens[1].number = 2, gens[1].commit = "bbbbbbb2222", gens[1].time = 30;
    std::vector<Report> att(2);
    att[0].commit = "ccccccc3333", att[0].time = 10, att[0].after = 1; // the same second as generation 1, after it
    att[1].commit = "aaaaaaa9999", att[1].time = 40, att[1].after = 2;
    auto e = history_entries(gens, att);
    REQUIRE(e.size() == 4);
    CHECK((e[0].generation == 1 && e[1].generation == 0 && e[1].attempt == 0 && e[2].generation == 2 && e[3].attempt == 1));

    CHECK(pick_entry("", e)->commit == "aaaaaaa9999"); // the newest
    CHECK(pick_entry("2", e)->generation == 2);
    CHECK(pick_entry("ccccccc", e)->commit == "ccccccc3333");
    CHECK(pick_entry("CCCCCCC3", e)->commit == "ccccccc3333");
    auto amb = pick_entry("aaaaaaa", e);
    REQUIRE(!amb);
    CHECK(amb.error().code == Errc::invalid);
    CHECK(amb.error().message.find("aaaaaaa1111") != std::string::npos);
    CHECK(amb.error().message.find("aaaaaaa9999") != std::string::npos);
    CHECK(pick_entry("aaaaaaa1", e)->generation == 1);
    CHECK(pick_entry("7", e).error().code == Errc::not_found);
    CHECK(pick_entry("ddddddd", e).error().code == Errc::not_found);
    CHECK(pick_entry("abc", e).error().code == Errc::invalid); // too short for a commit, not a number
    CHECK(pick_entry("main", e).error().code == Errc::invalid);
    CHECK(pick_entry("", {}).error().code == Errc::not_found);
}

TEST_CASE("status finds the state dir (so the control socket) of a config with a typo elsewhere") {
    CHECK(salvage_state_dir("[source]\npol_interval = 3\n[state]\ndir = \"/srv/fjord\"\n[apply]\ndir = \"/x\"\n") == "/srv/fjord");
    CHECK(salvage_state_dir("[state]\n  dir='/a/b'  # comment\n") == "/a/b");
    CHECK(salvage_state_dir("[apply]\ndir = \"/x\"\n").empty());
    CHECK(salvage_state_dir("[state]\ndir = \"relative\"\n").empty());
    CHECK(salvage_state_dir("[state]\ndirectory = \"/x\"\n").empty());
    CHECK(salvage_state_dir("").empty());
}
