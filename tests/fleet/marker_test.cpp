#include "fleet/marker.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::fleet;

TEST_CASE("fleet markers: ids every host computes alike, and as git computes them") {
    const std::string c = "0123456789abcdef0123456789abcdef01234567";
    // As `git hash-object -t commit --stdin` gives it for marker_body(c, good).
    CHECK(marker_id(c, MarkState::good) == "3b850c5b4ece6a565576430f5e90b64b6ef8928a");
    CHECK(marker_id(c, MarkState::good) != marker_id(c, MarkState::failed));
    CHECK(marker_id(c, MarkState::good) != marker_id("1123456789abcdef0123456789abcdef01234567", MarkState::good));
    CHECK(marker_body(c, MarkState::waiting).find("\nstate waiting\n") != std::string::npos);
    CHECK(marker_id(c, MarkState::good).size() == 40);
}

TEST_CASE("fleet ref names: hosts and waves that Git can hold") {
    CHECK(check_ref_name("web-1.example", "report.host"));
    CHECK(check_ref_name("a", "wave"));
    for (const char *bad : {"", "-x", ".x", "a/b", "a b", "a..b", "x.lock", "x.", "h\xc3\xa9", "a~1", "a:b"}) {
        CAPTURE(bad);
        auto s = check_ref_name(bad, "report.host");
        REQUIRE(!s);
        CHECK(s.error().message.find("report.host") != std::string::npos);
    }
    CHECK(!check_ref_name(std::string(64, 'a'), "wave"));
    CHECK(marker_ref("canary", "web1") == "refs/fjord/waves/canary/web1");
    auto m = parse_marker_ref("refs/fjord/waves/canary/web1");
    REQUIRE(m);
    CHECK(m->wave == "canary");
    CHECK(m->host == "web1");
    CHECK(!parse_marker_ref("refs/fjord/waves/canary/web1/x"));
    CHECK(!parse_marker_ref("refs/fjord/hosts/web1"));
    CHECK(!parse_marker_ref("refs/fjord/waves/canary"));
}

TEST_CASE("fleet buckets: stable, in [0,100), spread") {
    CHECK(bucket("web1") == bucket("web1"));
    int low = 0;
    for (int i = 0; i < 1000; ++i) {
        unsigned b = bucket("host" + std::to_string(i));
        REQUIRE(b < 100);
        low += b < 20;
    }
    CHECK(low > 140); // ~200 of 1000 below 20
    CHECK(low < 260);
}
