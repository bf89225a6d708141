#include "fleet/fleet_toml.hpp"
#include "fleet/marker.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::fleet;

namespace {
std::string error_of(const std::string &text) {
    auto p = parse_fleet_toml(text, "fleet.toml");
    REQUIRE(!p);
    return p.error().message;
}
} // namespace

TEST_CASE("fleet.toml: the design's example, every key") {
    auto p = parse_fleet_toml(R"(mode = "waves"
[[wave]]
name = "canary"
hosts = ["web1", "db-canary-*"]
[[wave]]
name = "early"
percent = 20
after = "10m"
require = "80%"
max_failures = 1
[[wave]]
name = "rest"
after = "30m"
)",
                              "fleet.toml");
    REQUIRE(p);
    CHECK(p->mode == FleetMode::waves);
    REQUIRE(p->waves.size() == 3); // the last takes the rest: no implicit wave
    CHECK(p->waves[0].hosts == std::vector<std::string>{"web1", "db-canary-*"});
    CHECK(p->waves[1].percent == 20.0);
    CHECK(p->waves[1].after == std::chrono::minutes(10));
    CHECK(p->waves[1].require == 80.0);
    CHECK(p->waves[1].max_failures == 1);
    CHECK(p->waves[2].takes_rest());
    CHECK(!p->waves[2].implicit);
    CHECK(p->waves[2].require == 100.0);
}

TEST_CASE("fleet.toml: an implicit last wave \"rest\" with the last wave's gate") {
    auto p = parse_fleet_toml("[[wave]]\nname = \"c\"\nhosts = [\"a*\"]\n[[wave]]\nname = \"w\"\npercent = 50\nafter = \"5m\"\nrequire = \"50%\"\n",
                              "fleet.toml");
    REQUIRE(p);
    REQUIRE(p->waves.size() == 3);
    CHECK(p->waves[2].name == "rest");
    CHECK(p->waves[2].implicit);
    CHECK(p->waves[2].after == std::chrono::minutes(5));
    CHECK(p->waves[2].require == 50.0);
    auto empty = parse_fleet_toml("", "fleet.toml");
    REQUIRE(empty);
    CHECK(empty->waves.size() == 1);
    auto all = parse_fleet_toml("mode = \"all\"\n", "fleet.toml");
    REQUIRE(all);
    CHECK(all->mode == FleetMode::all);
}

TEST_CASE("fleet.toml: bad input names the file, the key and the reason") {
    struct Case {
        const char *text, *want;
    };
    const Case cases[] = {
        {"mode = \"some\"\n", "fleet.toml:1:8: mode: must be \"waves\" or \"all\""},
        {"colour = 1\n", "fleet.toml:1:1: colour: unknown key"},
        {"[[wave]]\nname = \"a\"\nsize = 3\n", "fleet.toml:3:1: wave[0].size: unknown key"},
        {"[[wave]]\nname = \"a\"\nhosts=[\"x\"]\n[[wave]]\nname = \"b\"\nafter = \"ten minutes\"\n", "wave[1].after: bad duration"},
        {"[[wave]]\nname = \"a\"\nhosts=[\"x\"]\n[[wave]]\nname = \"b\"\nafter = 600\n", "wave[1].after: must be a duration string"},
        {"[[wave]]\nname = \"a\"\nhosts=[\"x\"]\n[[wave]]\nname = \"b\"\nrequire = \"80\"\n", "wave[1].require: bad percentage"},
        {"[[wave]]\nname = \"a\"\nhosts=[\"x\"]\n[[wave]]\nname = \"b\"\nrequire = \"120%\"\n", "wave[1].require: must be more than 0%"},
        {"[[wave]]\nname = \"a\"\npercent = 0\n", "wave[0].percent: must be more than 0 and at most 100"},
        {"[[wave]]\nname = \"a\"\npercent = 101\n", "wave[0].percent: must be more than 0"},
        {"[[wave]]\nname = \"a\"\npercent = \"5%\"\n", "wave[0].percent: must be a number"},
        {"[[wave]]\nname = \"a\"\nhosts=[\"x\"]\n[[wave]]\nname = \"a\"\n", "fleet.toml:4:1: wave[1].name: \"a\" names an earlier wave too"},
        {"[[wave]]\nname = \"a\"\nafter = \"1m\"\n", "fleet.toml:3:9: wave[0].after: the first wave has no gate"},
        {"[[wave]]\nname = \"a\"\nrequire = \"50%\"\n", "wave[0].require: the first wave has no gate"},
        {"[[wave]]\nname = \"a\"\nmax_failures = 1\n", "wave[0].max_failures: the first wave has no gate"},
        {"[[wave]]\nname = \"a\"\nhosts=[\"x\"]\n[[wave]]\nname = \"b\"\nmax_failures = -1\n", "wave[1].max_failures: must be a whole number"},
        {"[[wave]]\nname = \"a b\"\n", "wave[0].name: \"a b\": only letters"},
        {"[[wave]]\nname = \"x.lock\"\n", "wave[0].name: \"x.lock\": may not end"},
        {"[[wave]]\nhosts = [\"x\"]\n", "fleet.toml:1:1: wave[0]: name is missing"},
        {"[[wave]]\nname = \"a\"\nhosts = []\n", "wave[0].hosts: must not be empty"},
        {"[[wave]]\nname = \"a\"\nhosts = [\"x\"]\npercent = 5\n", "wave[0]: hosts and percent exclude each other"},
        {"[[wave]]\nname = \"a\"\n[[wave]]\nname = \"b\"\nhosts = [\"x\"]\n", "wave[1]: comes after a wave that takes every host left"},
        {"[[wave]]\nname = \"rest\"\nhosts = [\"x\"]\n", "wave \"rest\" has hosts or percent"},
        {"wave = 3\n", "wave: must be [[wave]] tables"},
        {"mode = \n", "fleet.toml:1:"},
    };
    for (const auto &c : cases) {
        CAPTURE(c.text);
        auto e = error_of(c.text);
        CHECK_MESSAGE(e.find(c.want) != std::string::npos, e);
        CHECK(e.rfind("fleet.toml", 0) == 0);
    }
}

TEST_CASE("fleet.toml: every error goes to Diagnostics, the earliest is returned") {
    Diagnostics all;
    auto p = parse_fleet_toml("mode = \"x\"\n[[wave]]\nname = \"a\"\nafter = \"1m\"\nbogus = 1\n", "fleet.toml", &all);
    REQUIRE(!p);
    CHECK(p.error().message.rfind("fleet.toml:1:", 0) == 0);
    CHECK(all.count() == 3);
}

TEST_CASE("fleet.toml: bounded") {
    CHECK(error_of(std::string(max_fleet_toml_bytes + 1, '#')).find("larger than") != std::string::npos);
    std::string many;
    for (std::size_t i = 0; i <= max_waves; ++i) many += "[[wave]]\nname = \"w" + std::to_string(i) + "\"\nhosts = [\"x\"]\n";
    CHECK(error_of(many).find("more than 64 waves") != std::string::npos);
}

TEST_CASE("wave_of: first match, globs, percent buckets, the rest") {
    auto p = parse_fleet_toml(R"([[wave]]
name = "canary"
hosts = ["web1", "db-canary-*"]
[[wave]]
name = "early"
percent = 30
[[wave]]
name = "half"
percent = 60
[[wave]]
name = "named"
hosts = ["web[0-9]*"]
)",
                              "fleet.toml");
    REQUIRE(p);
    REQUIRE(p->waves.size() == 5);
    CHECK(wave_of(*p, "web1") == 0);
    CHECK(wave_of(*p, "db-canary-7") == 0);
    int counts[5] = {};
    for (int i = 0; i < 1000; ++i) {
        std::string h = "host" + std::to_string(i);
        auto w = wave_of(*p, h);
        ++counts[w];
        unsigned b = bucket(h);
        // percent is cumulative: bucket < 30 -> early, < 60 -> half, the rest -> rest (4).
        CHECK(w == (b < 30 ? 1u : b < 60 ? 2u : 4u));
    }
    CHECK(counts[1] > 200);
    CHECK(counts[1] < 400);
    CHECK(counts[2] > 200);
    // web22 matches "named" unless its bucket put it in a percent wave first.
    unsigned b = bucket("web22");
    CHECK(wave_of(*p, "web22") == (b < 30 ? 1u : b < 60 ? 2u : 3u));
}
