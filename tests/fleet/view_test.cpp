#include "fleet/view.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::fleet;

namespace {

const std::string A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

StatusRead::HostEntry report(const std::string &host, const std::string &commit, const std::string &wave, const std::string &state,
                             std::int64_t time, std::vector<Judged> judged = {}) {
    HostReport r;
    r.host = host;
    r.fjord_version = "1";
    r.time = time;
    r.commit = commit;
    r.generation = 3;
    r.wave = wave;
    r.state = state;
    r.judged = std::move(judged);
    return {"refs/fjord/hosts/" + host, report_json(r), ""};
}

} // namespace

TEST_CASE("fleet view: hosts, then per commit the counts wave by wave and the rollout's state") {
    StatusRead in;
    in.hosts = {report("c1", B, "canary", "good", 1000, {{B, "good", "", 990}}),
                report("c2", A, "canary", "failed", 1000, {{B, "failed", "health check http failed", 995}, {A, "good", "", 500}}),
                report("w1", A, "rest", "waiting", 1000, {{A, "good", "", 400}}),
                report("w2", A, "rest", "good", 100, {{A, "good", "", 90}})};
    in.markers = {{"refs/fjord/waves/canary/c1", marker_id(B, MarkState::good)},
                  {"refs/fjord/waves/canary/c2", marker_id(B, MarkState::failed)},
                  {"refs/fjord/waves/rest/w1", marker_id(B, MarkState::waiting)},
                  {"refs/fjord/waves/rest/w2", marker_id(A, MarkState::good)}};
    auto v = build_view(in, 1010, 60, 3, "", {"canary", "rest"});
    REQUIRE(v);
    REQUIRE(v->hosts.size() == 4);
    CHECK(v->hosts[0].host == "c1");
    CHECK(!v->hosts[0].stale);
    CHECK(v->hosts[3].host == "w2");
    CHECK(v->hosts[3].stale); // 910 s old, past 3 heartbeats of 60 s
    REQUIRE(v->commits.size() == 2);
    const CommitRow &b = v->commits[0]; // B is the newest
    CHECK(b.commit == B);
    CHECK(b.good == 1);
    CHECK(b.failed == 1);
    CHECK(b.waiting == 1);
    CHECK(b.not_reporting == 1);
    REQUIRE(b.waves.size() == 2);
    CHECK(b.waves[0].name == "canary");
    CHECK(b.waves[1].name == "rest");
    CHECK(b.rollout == "halted in wave canary (c2 failed)");
    const CommitRow &a = v->commits[1];
    CHECK(a.good == 3); // w2's marker, and the reports of c2 and w1 that judged A good
    CHECK(a.rollout == "in progress: wave canary");
    std::string text = view_text(*v, 1010);
    CHECK(text.find("c2    aaaaaaa  3    canary  failed") != std::string::npos);
    CHECK(text.find("STALE") != std::string::npos);
    CHECK(text.find("commit bbbbbbb: 1 good, 1 failed, 1 waiting, 1 not yet reporting; halted in wave canary (c2 failed)") != std::string::npos);
    CHECK(view_json(*v, 1010).find("\"rollout\": \"halted in wave canary (c2 failed)\"") != std::string::npos);
}

TEST_CASE("fleet view: every host good is a complete rollout; --commit picks one by prefix") {
    StatusRead in;
    in.hosts = {report("h1", A, "all", "good", 50, {{A, "good", "", 50}}), report("h2", A, "all", "good", 60, {{A, "good", "", 60}})};
    in.markers = {{"refs/fjord/waves/all/h1", marker_id(A, MarkState::good)}, {"refs/fjord/waves/all/h2", marker_id(A, MarkState::good)}};
    auto v = build_view(in, 100, 900, 3, "aaaaaaa");
    REQUIRE(v);
    REQUIRE(v->commits.size() == 1);
    CHECK(v->commits[0].rollout == "complete");
    CHECK(!build_view(in, 100, 900, 3, "aaaa"));    // too short
    CHECK(!build_view(in, 100, 900, 3, "ccccccc")); // no report names it
    auto none = build_view(in, 100, 900, 3, std::string(40, 'c'));
    REQUIRE(none); // a whole id nobody reports yet: every host "not yet"
    CHECK(none->commits[0].not_reporting == 2);
}

TEST_CASE("fleet view: bad reports and refs are named, never fatal") {
    StatusRead in;
    in.hosts = {report("ok", A, "all", "good", 10),
                {"refs/fjord/hosts/garbage", "\x01\x02not json", ""},
                {"refs/fjord/hosts/big", std::string(max_report_bytes + 1, ' '), ""},
                {"refs/fjord/hosts/lost", "", "no report.json in its commit"},
                report("liar", A, "all", "good", 10)};
    in.hosts.back().ref = "refs/fjord/hosts/victim"; // a report claiming another host's name
    in.markers = {{"refs/fjord/waves/all/a/b", A}, {"refs/fjord/waves/all/ok", "nothex"}, {"refs/fjord/waves/x/ok", marker_id(A, MarkState::good)}};
    auto v = build_view(in, 20, 900);
    REQUIRE(v);
    REQUIRE(v->hosts.size() == 1);
    CHECK(v->hosts[0].host == "ok");
    std::string all;
    for (const auto &p : v->problems) all += p + "\n";
    CAPTURE(all);
    CHECK(all.find("refs/fjord/hosts/garbage") != std::string::npos);
    CHECK(all.find("refs/fjord/hosts/big") != std::string::npos);
    CHECK(all.find("refs/fjord/hosts/lost: no report.json") != std::string::npos);
    CHECK(all.find("refs/fjord/hosts/victim: the report says it is host \"liar\"") != std::string::npos);
    CHECK(all.find("refs/fjord/waves/all/a/b: not a marker ref") != std::string::npos);
    CHECK(all.find("refs/fjord/waves/all/ok: not a marker ref") != std::string::npos);
}

TEST_CASE("fleet view: ages") {
    CHECK(age_text(5) == "5s");
    CHECK(age_text(600) == "10m");
    CHECK(age_text(3 * 3600) == "3h");
    CHECK(age_text(3 * 86400) == "3d");
    CHECK(age_text(-4) == "0s");
}
