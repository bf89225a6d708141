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
