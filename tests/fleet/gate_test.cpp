#include "fleet/gate.hpp"
#include "fleet/marker.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::fleet;

namespace {

const std::string C = "c0ffee0000000000000000000000000000000001";
const std::string Old = "0ld0000000000000000000000000000000000002";

FleetPolicy policy(const std::string &text) {
    auto p = parse_fleet_toml(text, "fleet.toml");
    REQUIRE(p);
    return *p;
}

const char *three = R"([[wave]]
name = "canary"
hosts = ["c*"]
[[wave]]
name = "early"
hosts = ["e*"]
after = "10m"
require = "100%"
[[wave]]
name = "late"
after = "5m"
require = "50%"
max_failures = 1
)";

struct Fixture {
    FleetPolicy p = policy(three);
    GateMemory mem;
    std::map<std::string, std::string> refs;
    void mark(const std::string &wave, const std::string &host, MarkState s, const std::string &commit = C) {
        refs[marker_ref(wave, host)] = marker_id(commit, s);
    }
    Decision at(std::size_t wave, std::int64_t now) {
        GateInput in{C, &p, wave, refs, now};
        return evaluate_gate(in, mem);
    }
};

} // namespace

TEST_CASE("gate: wave 0 applies at once, whatever the markers") {
    Fixture f;
    f.mark("canary", "c2", MarkState::failed);
    CHECK(f.at(0, 100).verdict == Verdict::apply);
    CHECK(gate_prefixes(f.p, 0).empty());
    CHECK(gate_prefixes(f.p, 2) == std::vector<std::string>{"refs/fjord/waves/canary/", "refs/fjord/waves/early/"});
}

TEST_CASE("gate: require counts the previous wave's good markers for C; after runs from first seen on our clock") {
    Fixture f;
    f.mark("canary", "c1", MarkState::good);
    f.mark("canary", "c2", MarkState::waiting);
    f.mark("canary", "c3", MarkState::good, Old);
    auto d = f.at(1, 1000);
    CHECK(d.verdict == Verdict::wait);
    CHECK(d.reason == "waiting: wave early needs canary 3/3 good, has 1 (c2: waiting, c3: on another commit)");
    CHECK(f.mem.satisfied_since == 0);
    f.mark("canary", "c2", MarkState::good);
    f.mark("canary", "c3", MarkState::good);
    d = f.at(1, 2000);
    CHECK(d.verdict == Verdict::wait);
    CHECK(d.reason == "waiting: wave early is due in 10m (canary 3/3 good; after = 10m)");
    CHECK(f.mem.satisfied_since == 2000);
    CHECK(f.mem.commit == C);
    d = f.at(1, 2000 + 599);
    CHECK(d.verdict == Verdict::wait);
    CHECK(d.reason.find("due in 1s") != std::string::npos);
    CHECK(f.mem.satisfied_since == 2000); // the FIRST time counts
    CHECK(f.at(1, 2000 + 600).verdict == Verdict::apply);
    // A clock set back waits again rather than applying early.
    CHECK(f.at(1, 1500).verdict == Verdict::wait);
}

TEST_CASE("gate: after runs from when the previous wave became good without a break") {
    Fixture f;
    // c1 good: met, first seen at 100.
    f.mark("canary", "c1", MarkState::good);
    CHECK(f.at(1, 100).verdict == Verdict::wait);
    CHECK(f.mem.satisfied_since == 100);
    // c2 reports, not yet good: the wave falls short, and the clock starts afresh.
    f.mark("canary", "c2", MarkState::waiting);
    CHECK(f.at(1, 200).verdict == Verdict::wait);
    CHECK(f.mem.satisfied_since == 0);
    // Good at 5000: due 10 minutes later, not at once (100 + 10m has long passed).
    f.mark("canary", "c2", MarkState::good);
    auto d = f.at(1, 5000);
    CHECK(d.verdict == Verdict::wait);
    CHECK(d.reason.find("due in 10m") != std::string::npos);
    CHECK(f.at(1, 5600).verdict == Verdict::apply);
}

TEST_CASE("gate: a share below 100% and hosts that never reported") {
    Fixture f;
    f.mark("early", "e1", MarkState::good);
    f.mark("early", "e2", MarkState::good);
    f.mark("early", "e3", MarkState::waiting);
    f.mark("early", "e4", MarkState::waiting, Old);
    f.mark("canary", "c1", MarkState::good);
    auto d = f.at(2, 10);
    CHECK(d.verdict == Verdict::wait); // 50% of 4 = 2 good: met, now after runs
    CHECK(d.reason.find("due in 5m") != std::string::npos);
    CHECK(f.at(2, 10 + 300).verdict == Verdict::apply);

    Fixture g;
    g.mark("early", "e1", MarkState::good);
    g.mark("early", "e2", MarkState::waiting);
    g.mark("early", "e3", MarkState::waiting);
    auto w = g.at(2, 10);
    CHECK(w.reason == "waiting: wave late needs early 2/3 good, has 1 (e2: waiting, e3: waiting)");
}

TEST_CASE("gate: an empty previous wave is passed over to the one before it") {
    Fixture f;
    f.mark("canary", "c1", MarkState::waiting);
    auto d = f.at(2, 10);
    CHECK(d.verdict == Verdict::wait);
    CHECK(d.reason == "waiting: wave late needs canary 1/1 good, has 0 (c1: waiting)");
    // Nobody in any earlier wave has reported (a fleet.toml just added, a wave renamed, a status
    // repo wiped): nothing was seen to work, so the commit waits, however long.
    Fixture none;
    auto n = none.at(2, 50);
    CHECK(n.verdict == Verdict::wait);
    CHECK(n.reason == "waiting: no host of wave early or an earlier wave has reported (markers under refs/fjord/waves/early/); "
                      "wave late goes once one is good with commit c0ffee0");
    CHECK(none.at(2, 50 + 86400).verdict == Verdict::wait);
    CHECK(none.at(1, 50 + 86400).verdict == Verdict::wait);
    // Markers under the wave names of an older fleet.toml (here "all") are not this commit's waves.
    none.mark("all", "c1", MarkState::good);
    CHECK(none.at(1, 90000).verdict == Verdict::wait);
}

TEST_CASE("gate: a failure max_failures tolerates is not waited for") {
    Fixture f;
    f.mark("early", "e1", MarkState::good);
    f.mark("early", "e2", MarkState::failed);
    f.mark("canary", "c1", MarkState::good);
    // late tolerates one failure and needs 50 % of early: e1 of the hosts not failed.
    auto d = f.at(2, 10);
    CHECK(d.verdict == Verdict::wait);
    CHECK(d.reason.find("due in 5m") != std::string::npos);
    CHECK(f.at(2, 310).verdict == Verdict::apply);
}

TEST_CASE("gate: max_failures, and a halt is sticky for its commit only") {
    Fixture f;
    f.mark("canary", "c1", MarkState::good);
    f.mark("canary", "c2", MarkState::failed);
    f.mark("early", "e1", MarkState::good);
    // late tolerates one failure in earlier waves.
    auto d = f.at(2, 10);
    CHECK(d.verdict == Verdict::wait);
    // early tolerates none.
    auto h = f.at(1, 10);
    CHECK(h.verdict == Verdict::halt);
    CHECK(h.reason == "halted: commit c0ffee0 failed in wave canary (c2)");
    REQUIRE(f.mem.halt_of(C));
    // The failed marker disappears (rewritten, deleted): the halt stays.
    f.mark("canary", "c2", MarkState::good);
    CHECK(f.at(1, 100000).verdict == Verdict::halt);
    Fixture g; // a host of wave late: one failure tolerated, two halt
    g.mark("canary", "c2", MarkState::failed);
    g.mark("early", "e2", MarkState::failed);
    auto late = g.at(2, 20);
    CHECK(late.verdict == Verdict::halt);
    CHECK(late.reason == "halted: commit c0ffee0 failed in wave canary (c2) and wave early (e2)");
    // A newer commit starts its own rollout; the halt of C is remembered.
    GateInput newer{Old, &f.p, 1, {}, 30};
    CHECK(evaluate_gate(newer, f.mem).verdict == Verdict::wait);
    CHECK(f.mem.commit == Old);
    CHECK(f.mem.halt_of(C));
    CHECK(f.at(1, 40).verdict == Verdict::halt);
}

TEST_CASE("gate: halts are bounded") {
    Fixture f;
    f.mark("canary", "c1", MarkState::failed);
    for (int i = 0; i < 40; ++i) {
        std::string c = std::string(38, 'a') + char('a' + i / 16) + "0123456789abcdef"[i % 16];
        f.mark("canary", "c1", MarkState::failed, c);
        GateInput in{c, &f.p, 1, f.refs, i};
        CHECK(evaluate_gate(in, f.mem).verdict == Verdict::halt);
    }
    CHECK(f.mem.halts.size() == GateMemory::max_halts);
}

TEST_CASE("gate: markers in the wrong wave, of other waves, and garbage refs are ignored") {
    Fixture f;
    f.mark("canary", "c1", MarkState::good);
    f.mark("canary", "e9", MarkState::failed);   // e9 belongs to early under C's fleet.toml
    f.mark("late", "x1", MarkState::failed);     // a later wave: not ours to read
    f.mark("nowave", "c5", MarkState::failed);   // a wave C's fleet.toml does not have
    f.refs["refs/fjord/waves/canary/bad name"] = marker_id(C, MarkState::failed);
    f.refs["refs/fjord/waves/canary"] = marker_id(C, MarkState::failed);
    f.refs["refs/fjord/hosts/c2"] = marker_id(C, MarkState::failed);
    f.refs["refs/heads/main"] = "garbage";
    CHECK(f.at(1, 10).verdict == Verdict::wait); // c1 good; after runs
    CHECK(f.at(1, 610).verdict == Verdict::apply);
}

TEST_CASE("gate: more than three hosts behind are counted, not listed") {
    Fixture f;
    for (int i = 1; i <= 6; ++i) f.mark("canary", "c" + std::to_string(i), MarkState::waiting);
    CHECK(f.at(1, 1).reason == "waiting: wave early needs canary 6/6 good, has 0 (c1: waiting, c2: waiting, c3: waiting and 3 more)");
}

TEST_CASE("gate memory: STATE/fleet.json keeps the gate's part and leaves the rest alone") {
    GateMemory m;
    m.commit = C;
    m.satisfied_since = 1234;
    m.halts.push_back({Old, "halted: commit 0ld0000 failed in wave canary (c1)"});
    std::string text = gate_memory_json(m, R"({"marker_ref": "refs/fjord/waves/canary/web1", "gate": {"commit": "x"}})");
    auto back = parse_gate_memory(text);
    REQUIRE(back);
    CHECK(back->commit == C);
    CHECK(back->satisfied_since == 1234);
    REQUIRE(back->halts.size() == 1);
    CHECK(back->halts[0].reason == m.halts[0].reason);
    CHECK(text.find("\"marker_ref\": \"refs/fjord/waves/canary/web1\"") != std::string::npos);
    CHECK(parse_gate_memory("{}")->commit.empty());
    for (const char *bad : {"", "[]", "{\"gate\": 3}", "{\"gate\": {\"satisfied_since\": \"x\"}}", "{\"gate\": {\"halts\": [1]}}"}) {
        CAPTURE(bad);
        CHECK(!parse_gate_memory(bad));
    }
    CHECK(!parse_gate_memory(std::string(max_fleet_json_bytes + 1, ' ')));
}
