#include "util/strings.hpp"

#include <doctest/doctest.h>

using namespace fjord;

TEST_CASE("wildcard_match: '*' any run ('/' too), '?' one character, brackets literal, all of the string") {
    CHECK(wildcard_match("*", ""));
    CHECK(wildcard_match("1.2.*", "1.2.10"));
    CHECK(wildcard_match("*.example.net", "git.example.net"));
    CHECK(wildcard_match("a*b*c", "a/xbyyc"));
    CHECK(wildcard_match("v?", "v1"));
    CHECK_FALSE(wildcard_match("v?", "v10"));
    CHECK_FALSE(wildcard_match("1.2.*", "1.3.0"));
    CHECK(wildcard_match("[127.0.0.1]:22*", "[127.0.0.1]:2222"));
    CHECK_FALSE(wildcard_match("[12]", "1"));
    CHECK_FALSE(wildcard_match("", "x"));
}

TEST_CASE("natural_compare: digit runs as numbers, the rest byte by byte") {
    CHECK(natural_compare("1.10", "1.9") == 1);
    CHECK(natural_compare("rc9", "rc10") == -1);
    CHECK(natural_compare("v01", "v1") == 0);
    CHECK(natural_compare("1.2", "1.2.0") == -1);
    CHECK(natural_compare("a", "B") == 1);
    CHECK(natural_compare("", "") == 0);
    CHECK(natural_compare("x2", "x2") == 0);
}
