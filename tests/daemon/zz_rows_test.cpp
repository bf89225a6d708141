// Runs after every other test of this binary (doctest orders by file name): every row of the
// engine's transition table must have been taken by some test. A row added without a test, or
// a row no run can reach, fails here by name.
#include "daemon/transitions.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace fjord;

TEST_CASE("every row of the transition table is taken by a test") {
    const auto &rows = transitions();
    const auto &counts = transition_counts();
    REQUIRE(counts.size() == rows.size());
    std::string untested;
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (counts[i] == 0) untested += "\n  " + std::string(stage_name(rows[i].stage)) + " / " + std::string(event_name(rows[i].event));
    INFO("rows no test took:" << untested);
    CHECK(untested.empty());
}

TEST_CASE("the table: every (stage, event) pair has one row, and only done ends a run") {
    const auto &rows = transitions();
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t j = i + 1; j < rows.size(); ++j) {
            INFO(stage_name(rows[i].stage) << " / " << event_name(rows[i].event));
            CHECK_FALSE((rows[i].stage == rows[j].stage && rows[i].event == rows[j].event));
        }
    // A run always ends: every row leads forward or to done, and the only way back (a damaged
    // cache cloned again) is taken at most once a run (the stage says so through cache_repaired).
    for (const auto &t : rows)
        if (t.next != Stage::done && t.next <= t.stage) CHECK(t.event == Event::cache_damaged);
}
