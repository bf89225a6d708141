#include "util/diagnostics.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace fjord;

namespace {

std::vector<std::string> messages(const Diagnostics &d) {
    std::vector<std::string> out;
    for (const auto &e : d.errors()) out.push_back(e.message);
    return out;
}

Error err(const std::string &m) { return Error{Errc::invalid, m}; }

} // namespace

TEST_CASE("Diagnostics: every error, files in the order first seen, each file's by line and column") {
    Diagnostics d;
    CHECK(d.empty());
    d.add("b.toml", err("b.toml:9:1: x: unknown key"));
    d.add("a.toml", err("a.toml:3:5: y: bad"));
    d.add("b.toml", err("b.toml:2:7: z: unknown key"));
    d.add("b.toml", err("b.toml:2:3: w: unknown key"));
    d.add("b.toml", err("b.toml: no place"));
    d.add("t.tmpl", err("t.tmpl:4: undefined variable \"x\""));
    d.add("t.tmpl", err("t.tmpl:1: undefined variable \"y\""));
    CHECK(d.count() == 7);
    CHECK(messages(d) == std::vector<std::string>{"b.toml: no place", "b.toml:2:3: w: unknown key", "b.toml:2:7: z: unknown key",
                                                  "b.toml:9:1: x: unknown key", "a.toml:3:5: y: bad",
                                                  "t.tmpl:1: undefined variable \"y\"", "t.tmpl:4: undefined variable \"x\""});
}

TEST_CASE("Diagnostics: at most 100 a file (the earliest) and 1000 in all, and a count of the rest") {
    Diagnostics d;
    for (int i = 500; i > 0; --i) d.add("f.toml", err("f.toml:" + std::to_string(i) + ":1: k: bad"));
    auto m = messages(d);
    REQUIRE(m.size() == Diagnostics::max_per_file + 1);
    CHECK(m.front() == "f.toml:1:1: k: bad");
    CHECK(m[99] == "f.toml:100:1: k: bad");
    CHECK(m.back() == "... and 400 more errors not shown (at most 100 are shown per file and 1000 in all)");
    CHECK(d.count() == 500);

    Diagnostics all;
    for (int f = 0; f < 30; ++f)
        for (int i = 1; i <= 50; ++i) all.add(std::to_string(f), err(std::to_string(f) + ":" + std::to_string(i) + ":1: k: bad"));
    auto n = messages(all);
    REQUIRE(n.size() == Diagnostics::max_total + 1);
    CHECK(n.back() == "... and 500 more errors not shown (at most 100 are shown per file and 1000 in all)");
}
