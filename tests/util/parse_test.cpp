#include "util/parse.hpp"

#include "support/tz_guard.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace std::chrono_literals;

TEST_CASE("durations") {
    CHECK(*parse_duration("500ms") == 500ms);
    CHECK(*parse_duration("30s") == 30s);
    CHECK(*parse_duration("5m") == 5min);
    CHECK(*parse_duration("1h") == 1h);
    CHECK(*parse_duration("1m30s") == 90s);
    CHECK_FALSE(parse_duration("30"));
    CHECK_FALSE(parse_duration("30x"));
    CHECK_FALSE(parse_duration(""));
    CHECK(format_duration(90s) == "1m30s");
}

TEST_CASE("sizes") {
    CHECK(*parse_size("64MiB") == 64ull << 20);
    CHECK(*parse_size("4096") == 4096);
    CHECK(*parse_size("1GB") == 1'000'000'000ull);
    CHECK_FALSE(parse_size("12 apples"));
}

TEST_CASE("percent and modes") {
    CHECK(*parse_percent("5%") == doctest::Approx(5.0));
    CHECK_FALSE(parse_percent("5"));
    CHECK(*parse_mode("0644") == 0644u);
    CHECK(*parse_mode("4755") == 04755u);
    CHECK_FALSE(parse_mode("0999"));
    CHECK_FALSE(parse_mode("77777"));
}

TEST_CASE("durations past the maximum are too large, not negative") {
    // llround of a double past LLONG_MAX came out negative: "must be more than 0s".
    for (const char *s : {"99999999999999999999s", "9223372036854775807h", "36501d", "36500d1ms",
                          "99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
                          "99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
                          "99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
                          "9999999999999ms"}) {
        CAPTURE(s);
        auto d = parse_duration(s);
        REQUIRE_FALSE(d);
        CHECK(d.error().message.find("too large (at most 36500d)") != std::string::npos);
    }
    CHECK(*parse_duration("36500d") == max_duration);
    CHECK(format_duration(max_duration) == "36500d");
    CHECK_FALSE(parse_duration("1..5s"));
}

TEST_CASE("sizes past 2^63 bytes are too large") {
    for (const char *s : {"99999999999999999999GiB", "8589934592GiB", "9223372036854775808"}) {
        CAPTURE(s);
        auto n = parse_size(s);
        REQUIRE_FALSE(n);
        CHECK(n.error().message.find("too large") != std::string::npos);
    }
    CHECK(*parse_size("8589934591GiB") == (std::uint64_t{1} << 63) - (std::uint64_t{1} << 30));
}

TEST_CASE("strict whole numbers") {
    CHECK(*parse_uint("0", 0, 10) == 0);
    CHECK(*parse_uint("7", 1, 10) == 7);
    CHECK(*parse_uint("18446744073709551615", 0, UINT64_MAX) == UINT64_MAX);
    auto why = [](std::string_view s, std::uint64_t min = 1, std::uint64_t max = UINT32_MAX) {
        auto r = parse_uint(s, min, max);
        return r ? std::string("accepted") : r.error().message;
    };
    CHECK(why("") == "empty (a decimal number is needed)");
    CHECK(why("0") == "less than 1");
    CHECK(why("0x3") == "not a decimal number (no 0x prefix)");
    CHECK(why("3abc") == "not a decimal number (digits 0-9 only)");
    CHECK(why("3x") == "not a decimal number (digits 0-9 only)");
    CHECK(why("3.5") == "not a decimal number (a whole number)");
    CHECK(why("+3") == "not a decimal number (no sign)");
    CHECK(why("-1") == "not a decimal number (no sign)");
    CHECK(why(" 3") == "not a decimal number (no blanks)");
    CHECK(why("3 ") == "not a decimal number (no blanks)");
    CHECK(why("03") == "not a decimal number (no leading zero)");
    CHECK(why("00", 0) == "not a decimal number (no leading zero)");
    CHECK(why("4294967296") == "too large (at most 4294967295)");
    CHECK(why("18446744073709551616", 0, UINT64_MAX) == "too large (at most 18446744073709551615)");
    CHECK(why("99999999999999999999999999") == "too large (at most 4294967295)");
    CHECK(why(std::string_view("3\0", 2)) == "not a decimal number (digits 0-9 only)");
}

TEST_CASE("times are ISO 8601 local time with the zone's offset") {
    {
        TzGuard tz("UTC");
        CHECK(format_time(1'796'206'581) == "2026-12-02T10:16:21+00:00");
        CHECK(format_time(0) == "never");
    }
    {
        TzGuard tz("IST-5:30");
        CHECK(format_time(1'796'206'581) == "2026-12-02T15:46:21+05:30");
    }
    TzGuard tz("NST3:30");
    CHECK(format_time(1'796'206'581) == "2026-12-02T06:46:21-03:30");
}
