#include "control/report.hpp"
#include "control/status.hpp"
#include "util/fs.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>

using namespace fjord;

namespace {
Report attempt(std::string commit, std::string reason, std::int64_t time) {
    Report r;
    r.commit = std::move(commit);
    r.outcome = "failed";
    r.stage = "render";
    r.reason = std::move(reason);
    r.time = time;
    return r;
}
} // namespace

TEST_CASE("bounded keeps short text whole and cuts long text on a UTF-8 boundary, saying how much is left out") {
    CHECK(bounded("short", 10) == "short");
    std::string s = "ab\xc3\xa9" "cd"; // a, b, é (2 bytes), c, d
    std::string cut = bounded(s, 3);   // would split é: cut before it
    CHECK(cut.starts_with("ab\n"));
    CHECK(cut.find("4 more bytes not kept") != std::string::npos);
    CHECK(bounded(std::string(10000, 'x'), max_output_bytes).size() < max_output_bytes + 64);
}

TEST_CASE("the attempt log counts the same failure of the same commit once, and keeps the newest kept_attempts") {
    std::vector<Report> log;
    log = add_attempt(log, attempt("a", "bad template", 1));
    log = add_attempt(log, attempt("a", "bad template", 2));
    REQUIRE(log.size() == 1);
    CHECK(log[0].repeats == 2);
    CHECK(log[0].time == 2);
    log = add_attempt(log, attempt("a", "another reason", 3));
    log = add_attempt(log, attempt("b", "another reason", 4));
    CHECK(log.size() == 3);
    for (int i = 0; i < 100; ++i) log = add_attempt(log, attempt("c" + std::to_string(i), "x", 10 + i));
    CHECK(log.size() == kept_attempts);
    CHECK(log.back().commit == "c99");
    CHECK(log.front().commit == "c" + std::to_string(100 - kept_attempts));
}

TEST_CASE("reports and the attempt log round-trip through the state dir; a missing log is empty") {
    auto dir = std::filesystem::temp_directory_path() / ("fjord-report-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "generations" / "4");
    auto none = read_attempts(dir.string());
    REQUIRE(none);
    CHECK(none->empty());
    Report r = attempt("abc", "line 1\nline 2", 5);
    r.stages = {{"render", 12}, {"plan", 3}};
    r.steps = {{"check", "web http://x/", "passed (1 attempt)", 7, "200 OK"}};
    REQUIRE(write_attempts(dir.string(), {r}));
    auto back = read_attempts(dir.string());
    REQUIRE(back);
    REQUIRE(back->size() == 1);
    CHECK((*back)[0] == r);
    r.generation = 4;
    REQUIRE(write_generation_report(dir.string(), r));
    auto g = read_generation_report(dir.string(), 4);
    REQUIRE(g);
    CHECK(*g == r);
    CHECK(read_generation_report(dir.string(), 5).error().code == Errc::not_found);
    REQUIRE(write_file_atomic((dir / "attempts.json").string(), "{not json", 0600));
    CHECK(!read_attempts(dir.string()));
    std::filesystem::remove_all(dir);
}

TEST_CASE("status.json keeps the remote head and the last attempted commit with its outcome and reason") {
    AgentStatus s;
    s.remote_head = "r";
    s.attempted_commit = "c";
    s.attempted_outcome = "failed";
    s.attempted_reason = "bad\nkey";
    s.attempted_time = 42;
    s.attempted_generation = 7;
    auto dir = std::filesystem::temp_directory_path() / ("fjord-status-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    REQUIRE(write_file_atomic((dir / "status.json").string(), status_to_json(s), 0600));
    auto back = read_status(dir.string());
    REQUIRE(back);
    CHECK(back->remote_head == "r");
    CHECK(back->attempted_commit == "c");
    CHECK(back->attempted_outcome == "failed");
    CHECK(back->attempted_reason == "bad\nkey");
    CHECK(back->attempted_time == 42);
    CHECK(back->attempted_generation == 7);
    std::filesystem::remove_all(dir);
}
