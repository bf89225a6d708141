#include "util/lines.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace fjord;

namespace {

std::vector<std::string> all(Lines l) {
    std::vector<std::string> out;
    for (std::string_view line; l.next(line);) out.emplace_back(line);
    return out;
}

} // namespace

TEST_CASE("Lines: split at LF; a last line without one counts; nothing after a final LF") {
    CHECK(all(Lines{""}).empty());
    CHECK(all(Lines{"\n"}) == std::vector<std::string>{""});
    CHECK(all(Lines{"a\nb"}) == std::vector<std::string>{"a", "b"});
    CHECK(all(Lines{"a\n\nb\n"}) == std::vector<std::string>{"a", "", "b"});
    CHECK(all(Lines{"a\r\nb\r\r\n"}) == std::vector<std::string>{"a\r", "b\r\r"});
    CHECK(all(Lines{"a\r\nb\r\r\n\r", true}) == std::vector<std::string>{"a", "b\r", ""});
    Lines l{"x\ny\n"};
    std::string_view line;
    CHECK(l.number == 0);
    REQUIRE(l.next(line));
    REQUIRE(l.next(line));
    CHECK(line == "y");
    CHECK(l.number == 2);
    CHECK_FALSE(l.next(line));
    CHECK(l.number == 2);
}
