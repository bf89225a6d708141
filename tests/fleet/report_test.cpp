#include "fleet/report.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::fleet;

namespace {

const std::string C1(40, 'a'), C2(40, 'b');
const std::string ref = "refs/fjord/hosts/web1";

HostReport sample() {
    HostReport r;
    r.host = "web1";
    r.fjord_version = "0.9.0";
    r.time = 1700000000;
    r.commit = C1;
    r.generation = 7;
    r.wave = "canary";
    r.state = "good";
    r.judged = {{C2, "failed", "health check http failed", 1699999000}, {C1, "good", "", 1700000000}};
    r.health_passed = 3;
    r.prereq_pass = 4;
    r.prereq_warn = 1;
    return r;
}

std::string error_of(std::string_view text) {
    auto r = parse_report(text, ref);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    return r.error().message;
}

} // namespace

TEST_CASE("a report survives the round trip, and unknown fields are ignored") {
    auto r = sample();
    auto back = parse_report(report_json(r), ref);
    REQUIRE_MESSAGE(back, (back ? "" : back.error().message));
    CHECK(*back == r);
    auto extra = parse_report(R"({"schema":1,"host":"db-2","future":{"x":[1,2]},"state":"waiting"})", ref);
    REQUIRE(extra);
    CHECK(extra->host == "db-2");
    CHECK(extra->state == "waiting");
    // Long reasons and judged lists are cut on the way out.
    r.reason = std::string(5000, 'x');
    r.judged.assign(15, Judged{C1, "good", "", 1});
    auto cut = parse_report(report_json(r), ref);
    REQUIRE(cut);
    CHECK(cut->reason.size() == max_report_reason);
    CHECK(cut->judged.size() == max_judged);
}

TEST_CASE("oversize, garbage and the wrong schema are refused, naming the ref") {
    std::string big = R"({"schema":1,"host":"web1","reason":")" + std::string(max_report_bytes, 'x') + "\"}";
    CHECK(error_of(big) == ref + ": report.json: larger than 64 KiB (" + std::to_string(big.size()) + " bytes)");
    CHECK(error_of("\x01garbage{") == ref + ": report.json: not JSON");
    CHECK(error_of("[1,2]") == ref + ": report.json: not a JSON object");
    CHECK(error_of(std::string(20000, '[') + std::string(20000, ']')) == ref + ": report.json: not a JSON object");
    CHECK(error_of(R"({"host":"web1"})") == ref + ": report.json: schema missing, fjord reads schema 1");
    CHECK(error_of(R"({"schema":2,"host":"web1"})") == ref + ": report.json: schema 2, fjord reads schema 1");
    CHECK(error_of(R"({"schema":"1","host":"web1"})") == ref + ": report.json: schema \"1\", fjord reads schema 1");
    CHECK(error_of(R"({"schema":1})") == ref + ": report.json: host: missing");
    CHECK(error_of(R"({"schema":1,"host":"../x"})") == ref + ": report.json: host: must be a host name as refs use it");
    CHECK(error_of(R"({"schema":1,"host":"a","commit":"abc"})") == ref + ": report.json: commit: must be a 40-digit commit id");
    CHECK(error_of(R"({"schema":1,"host":"a","generation":-1})") == ref + ": report.json: generation: must be a non-negative integer");
    CHECK(error_of(R"({"schema":1,"host":"a","state":"great"})") == ref + ": report.json: state: must be good, failed, waiting or halted");
    CHECK(error_of(R"({"schema":1,"host":"a","health":{"passed":"3"}})") == ref + ": report.json: health.passed: must be a non-negative integer");
    CHECK(error_of(R"({"schema":1,"host":"a","judged":[{"commit":"x"}]})") == ref + ": report.json: judged[0].commit: must be a 40-digit commit id");
    CHECK(error_of(R"({"schema":1,"host":"a","judged":[1]})") == ref + ": report.json: judged[0]: must be an object");
    std::string many = R"({"schema":1,"host":"a","judged":[)";
    for (int i = 0; i < 11; ++i) many += std::string(i ? "," : "") + "{}";
    CHECK(error_of(many + "]}") == ref + ": report.json: judged: more than 10 entries");
}

TEST_CASE("the marker: waiting while a gate holds a commit, else the newest judged commit's outcome") {
    Standing s;
    CHECK_FALSE(mark_of(s));
    s.current_commit = C1;
    CHECK(*mark_of(s) == Mark{C1, MarkState::good, "good"});
    s.attempted_commit = C2;
    for (const char *o : {"applied", "up-to-date"}) {
        s.attempted_outcome = o;
        CHECK(*mark_of(s) == Mark{C2, MarkState::good, "good"});
    }
    for (const char *o : {"failed", "rolled-back", "refused"}) {
        s.attempted_outcome = o;
        CHECK(*mark_of(s) == Mark{C2, MarkState::failed, "failed"});
    }
    s.rollout = "waiting";
    s.remote_head = C1;
    CHECK(*mark_of(s) == Mark{C1, MarkState::waiting, "waiting"});
    s.rollout = "halted";
    s.rollout_commit = C2;
    CHECK(*mark_of(s) == Mark{C2, MarkState::waiting, "halted"});
    CHECK(judged_outcome("rolled-back") == "failed");
    CHECK(judged_outcome("refused") == "refused");
}

TEST_CASE("one push: the report, the marker, and the old marker deleted when the wave changed") {
    CHECK(push_refspecs("web1", "all", true, "") ==
          std::vector<std::string>{"+refs/fjord/report:refs/fjord/hosts/web1", "+refs/fjord/marker:refs/fjord/waves/all/web1"});
    CHECK(push_refspecs("web1", "all", true, "refs/fjord/waves/all/web1").size() == 2);
    CHECK(push_refspecs("web1", "late", true, "refs/fjord/waves/all/web1") ==
          std::vector<std::string>{"+refs/fjord/report:refs/fjord/hosts/web1", "+refs/fjord/marker:refs/fjord/waves/late/web1",
                                   ":refs/fjord/waves/all/web1"});
    CHECK(push_refspecs("web1", "", false, "") == std::vector<std::string>{"+refs/fjord/report:refs/fjord/hosts/web1"});
}

TEST_CASE("the report's Git objects have Git's form") {
    // git mktree <<< "100644 blob <id>\treport.json" on an empty blob's id.
    const std::string empty_blob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
    CHECK(git_object_id("tree", report_tree_body(empty_blob)) == "6cad7b2f18472502c5a11a5becc6280f5796c819");
    CHECK(report_commit_body("t", "web1", 5) ==
          "tree t\nauthor fjord <fjord@invalid> 5 +0000\ncommitter fjord <fjord@invalid> 5 +0000\n\nfjord report web1\n");
}
