#include "util/parse.hpp"

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
