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

TEST_CASE("without_elapsed: libcurl's elapsed times go, the rest of its message stays") {
    CHECK(without_elapsed("Failed to connect to 127.0.0.1 port 5000 after 0 ms: Couldn't connect to server") ==
          "Failed to connect to 127.0.0.1 port 5000: Couldn't connect to server");
    CHECK(without_elapsed("Failed to connect to 127.0.0.1 port 5000 after 12 ms: Couldn't connect to server") ==
          without_elapsed("Failed to connect to 127.0.0.1 port 5000 after 0 ms: Couldn't connect to server"));
    CHECK(without_elapsed("Operation timed out after 30001 milliseconds with 0 bytes received") ==
          "Operation timed out with 0 bytes received");
    CHECK(without_elapsed("Resolving timed out after 5000 milliseconds") == "Resolving timed out");
    CHECK(without_elapsed("retry after a while") == "retry after a while");
    CHECK(without_elapsed("after 3 ms") == "after 3 ms"); // only " after N ms"
    CHECK(without_elapsed("x after ms") == "x after ms");
    CHECK(without_elapsed("") == "");
}
