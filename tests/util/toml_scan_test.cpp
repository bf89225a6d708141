// The TOML pre-scan (util/toml_scan.hpp): the depth and value bounds it keeps before toml++
// parses, on the inputs that crashed or exhausted toml++, and its leniency on valid TOML (it
// must never stop early on a file toml++ accepts, or what follows would go unmeasured).
#include "util/toml_scan.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <string>

using namespace fjord;

namespace {

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

/// The error of scanning `text` with a small depth bound, or "" when it passes.
std::string scan(std::string_view text, std::size_t depth = 4, std::size_t values = 1000) {
    auto e = scan_toml(text, {depth, values});
    return e ? std::to_string(e->line) + ":" + std::to_string(e->column) + ": " + e->why : "";
}

} // namespace

TEST_CASE("a 200,000-deep dotted key is refused at the 65th level, fast") {
    std::string text = "[vars]\n" + repeat("a.", 199'999) + "a = 1\n";
    auto t0 = std::chrono::steady_clock::now();
    auto e = scan_toml(text);
    auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE(e);
    CHECK(e->line == 2);
    CHECK(e->column == 127); // the 64th "a": level 65, [vars] being the first
    CHECK(e->why.find("nests deeper than 64 levels") != std::string::npos);
    CHECK(took < std::chrono::milliseconds(100));
}

TEST_CASE("every kind of nesting counts, together") {
    // Dotted keys, a table header, arrays of arrays, inline tables.
    CHECK(scan("a.b.c.d = 1") == "");
    CHECK(scan("a.b.c.d.e = 1") == "1:9: nests deeper than 4 levels (table headers, dotted keys, arrays and inline tables together)");
    CHECK(scan("[a.b]\nc.d = 1") == "");
    CHECK(scan("[a.b]\nc.d.e = 1").rfind("2:5: nests deeper", 0) == 0);
    CHECK(scan("[a.b.c.d]") == "");
    CHECK(scan("[ a . b . c . d . e ]").rfind("1:19: nests deeper", 0) == 0);
    CHECK(scan("[[a.b.c]]") == "");   // a, b, c (the array), the table in it
    CHECK(scan("[[a.b.c.d]]").rfind("1:12: nests deeper", 0) == 0);
    CHECK(scan("a = [[[1]]]") == "");
    CHECK(scan("a = [[[[1]]]]").rfind("1:9: nests deeper", 0) == 0);
    CHECK(scan("a = {b = {c = {d = 1}}}") == "");
    CHECK(scan("a = {b = {c = {d = {e = 1}}}}").rfind("1:21: nests deeper", 0) == 0);
    CHECK(scan("a = {b.c = [{d = 1}]}").rfind("1:14: nests deeper", 0) == 0);
    CHECK(scan("[a]\nb = [\n  [\n   # c\n   [1, 2],\n  ],\n]\n").rfind("5:5: nests deeper", 0) == 0);
    CHECK(scan("[a.b.c]\n[d]\ne.f.g = 1") == ""); // a header resets the depth
}

TEST_CASE("arrays of arrays and inline tables 100,000 deep are refused") {
    CHECK(scan_toml("a = " + repeat("[", 100'000) + repeat("]", 100'000))->why.find("deeper than 64") != std::string::npos);
    CHECK(scan_toml("a = " + repeat("{b = ", 100'000) + "1" + repeat("}", 100'000))->why.find("deeper than 64") !=
          std::string::npos);
}

TEST_CASE("values are counted: key segments, header segments, array elements") {
    CHECK(scan("a = 1\nb = 2\nc = 3", 64, 3) == "");
    CHECK(scan("a = 1\nb = 2\nc = 3\nd = 4", 64, 3) == "4:1: more than 3 values (keys, key segments and array elements)");
    CHECK(scan("a.b.c = 1", 64, 3) == "");
    CHECK(scan("[x]\na.b = 1", 64, 2).rfind("2:3: more than 2 values", 0) == 0);
    CHECK(scan("a = [1, 2, 3]", 64, 3).rfind("1:12: more than 3 values", 0) == 0);
    // 2.5 million keys in 45 MB: refused at the limit, without reading to the end.
    std::string big = "[vars]\n";
    for (int i = 0; i < 2'500'000; ++i) big += "v" + std::to_string(10'000'000 + i) + " = 1234567\n";
    auto e = scan_toml(big);
    REQUIRE(e);
    CHECK(e->line == 1'000'001);
    CHECK(e->why == "more than 1000000 values (keys, key segments and array elements)");
}

TEST_CASE("valid TOML of every sort passes: strings, dates, comments, CRLF") {
    std::string all = "\xEF\xBB\xBF# a comment\r\n"
                      "title = \"a [ { # . \\\" ] }\"\n"
                      "'quoted.key' = 'C:\\path\\'\n"
                      "\"a.b\".c = \"\"\"\nmulti [ { ] } \\\"\"\" \"\"\"\"\n"
                      "lit = '''\n'' [[ ]] ''''\n"
                      "date = 1979-05-27 07:32:00Z\n"
                      "floats = [ 1.5, -0.5e3, inf, nan, ]\n"
                      "mixed = [ # comment [\n  \"x\", # ]\n  { a = 1, b.c = 'y' },\n]\n"
                      "empty = {}\n"
                      "[ t . \"u v\" ] # after\n"
                      "k = true\r\n"
                      "[[arr]]\n"
                      "n = 0x1F\n"
                      "[[arr]]\n"
                      "ключ = 1\n";
    CHECK(scan(all, 4) == "");
}

TEST_CASE("text that is not TOML is left to the parser") {
    // No bound passed before the point where the text stops being TOML: no error of the scan.
    CHECK(scan("[}") == "");
    CHECK(scan("a = ") == "");
    CHECK(scan("a = \"unterminated") == "");
    CHECK(scan("a = 1 b = 2") == "");
    CHECK(scan("= 1") == "");
    // But what came before is measured.
    CHECK(scan("a.b.c.d.e = 1\n[}").rfind("1:9: nests deeper", 0) == 0);
}
