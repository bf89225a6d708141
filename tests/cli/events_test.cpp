#include "cli/events_cmd.hpp"
#include "control/events.hpp"

#include "support/tz_guard.hpp"

#include <doctest/doctest.h>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

using namespace fjord;

namespace {

constexpr std::int64_t s = 1'000'000; // microseconds a second


} // namespace

TEST_CASE("--since: relative, epoch, dates with and without a zone") {
    TzGuard tz("UTC");
    const std::int64_t now = 1'796'206'581 * s; // 2026-12-02T10:16:21Z
    CHECK(*parse_since("now", now) == now);
    CHECK(*parse_since("-1h", now) == now - 3600 * s);
    CHECK(*parse_since("1h ago", now) == now - 3600 * s);
    CHECK(*parse_since("30m ago", now) == now - 1800 * s);
    CHECK(*parse_since("2 h ago", now) == now - 7200 * s);
    CHECK(*parse_since("-1d", now) == now - 86400 * s);
    CHECK(*parse_since("@1796206581", now) == 1'796'206'581 * s);
    CHECK(*parse_since("2026-12-02", now) == 1'796'169'600 * s);
    CHECK(*parse_since("2026-12-02 10:00", now) == (1'796'169'600 + 36000) * s);
    CHECK(*parse_since("2026-12-02 10:16:21", now) == 1'796'206'581 * s);
    CHECK(*parse_since("2026-12-02T10:16:21Z", now) == 1'796'206'581 * s);
    CHECK(*parse_since("2026-12-02T11:16:21+01:00", now) == 1'796'206'581 * s);
    CHECK(*parse_since("2026-12-02T07:46:21-0230", now) == 1'796'206'581 * s);
    CHECK(*parse_since("today", now) == 1'796'169'600 * s);
    CHECK(*parse_since("yesterday", now) == (1'796'169'600 - 86400) * s);
}

TEST_CASE("--since: local time is the zone's") {
    TzGuard tz("IST-5:30");
    const std::int64_t now = 1'796'206'581 * s;
    CHECK(*parse_since("2026-12-02 15:46:21", now) == 1'796'206'581 * s);
    CHECK(*parse_since("today", now) == (1'796'169'600 - 5 * 3600 - 1800) * s);
}

TEST_CASE("--since: anything else is refused, naming the value and the forms") {
    const std::int64_t now = 1'796'206'581 * s;
    for (const char *bad : {"", "soon", "1h", "-", "-1x", "@", "@-5", "@12a", "2026-13-01", "2026-02-30", "2026-12-02 25:00",
                            "2026-12-02 10:61", "12/02/2026", "2026-12-02T10:00+5"}) {
        auto r = parse_since(bad, now);
        CHECK_MESSAGE(!r, bad);
        if (!r) {
            CHECK(r.error().message.find(std::string("--since \"") + bad + "\"") == 0);
            CHECK(r.error().message.find("1h ago") != std::string::npos);
        }
    }
}

TEST_CASE("a journal entry of fjord's becomes an event; others are not") {
    std::map<std::string, std::string> f{{"MESSAGE_ID", msgid::applied},
                                         {"MESSAGE", "applied commit 608d97be76a4 as generation 5"},
                                         {"PRIORITY", "6"},
                                         {"COMMIT", "608d97be76a4c0ffee0000000000000000000000"},
                                         {"GENERATION", "5"},
                                         {"PATH", "/etc/app.conf"},
                                         {"SYSLOG_IDENTIFIER", "fjordd"},
                                         {"_PID", "42"},
                                         {"_SYSTEMD_UNIT", "fjord.service"}};
    auto e = event_from_fields(f, 1'796'206'581'123'456);
    REQUIRE(e);
    CHECK(e->name == "applied");
    CHECK(e->generation == 5);
    CHECK(e->priority == 6);
    CHECK(e->fields == std::map<std::string, std::string>{{"PATH", "/etc/app.conf"}});
    f["MESSAGE_ID"] = "00000000000000000000000000000000";
    CHECK_FALSE(event_from_fields(f, 0));
    f.erase("MESSAGE_ID");
    CHECK_FALSE(event_from_fields(f, 0));
    // Every id has a name, and the names are the ones docs and scripts use.
    CHECK(std::string(event_name(msgid::rolled_back)) == "rolled_back");
    CHECK(std::string(event_name(msgid::image_update)) == "image_update");
    for (const auto &k : event_kinds) CHECK(event_name(k.id) == k.name);
}

TEST_CASE("an event's line: time with zone, name, generation, short commit, message (control characters escaped)") {
    TzGuard tz("UTC");
    JournalEvent e;
    e.time_us = 1'796'206'581'123'456;
    e.name = "rolled_back";
    e.generation = 6;
    e.commit = "784f3023269b0000000000000000000000000000";
    e.message = "check web failed\x1b[2J";
    CHECK(format_event(e) == "2026-12-02T10:16:21+00:00 rolled_back    6     784f3023269b check web failed\\x1b[2J");
    JournalEvent d;
    d.time_us = e.time_us;
    d.name = "drift";
    d.message = "1 path drifted";
    CHECK(format_event(d) == "2026-12-02T10:16:21+00:00 drift          -     -            1 path drifted");
}

TEST_CASE("an event's JSON: one line, numbers as numbers, null when absent") {
    JournalEvent e;
    e.time_us = 1'796'206'581'123'456;
    e.name = "applied";
    e.id = msgid::applied;
    e.generation = 5;
    e.commit = "608d97be76a4";
    e.message = "applied";
    e.fields = {{"PATH", "/etc/x"}};
    std::string line = event_json(e);
    CHECK(line.find('\n') == std::string::npos);
    auto j = nlohmann::json::parse(line);
    CHECK(j["time"] == 1'796'206'581);
    CHECK(j["time_us"] == 1'796'206'581'123'456);
    CHECK(j["event"] == "applied");
    CHECK(j["message_id"] == msgid::applied);
    CHECK(j["generation"] == 5);
    CHECK(j["priority"] == 6);
    CHECK(j["commit"] == "608d97be76a4");
    CHECK(j["fields"]["PATH"] == "/etc/x");
    JournalEvent d;
    d.name = "drift";
    j = nlohmann::json::parse(event_json(d));
    CHECK(j["generation"].is_null());
    CHECK(j["commit"].is_null());
}
