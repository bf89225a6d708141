// The wave gate in the engine's guard stage (issue 20), driven with the fakes: a scripted
// status repo (ref -> id), fleet.toml per commit, a settable wall clock.
#include "support/engine_host.hpp"

#include "fleet/gate.hpp"
#include "fleet/marker.hpp"
#include "util/fs.hpp"
#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::test;
using fleet::MarkState;

namespace {

bool has(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

const char *policy = R"([[wave]]
name = "canary"
hosts = ["c*"]
[[wave]]
name = "early"
hosts = ["web*"]
after = "10m"
)";

/// A host "web1" (wave early) reporting to a status repo, generation 1 applied (/etc/motd one).
struct Fleet : EngineHost {
    std::string c1;
    Fleet(const std::string &host = "web1") {
        cfg.report.url = "git://fake/status";
        cfg.report.host = host;
        c1 = repo.commit(files({{"/etc/motd", "one"}}), "first");
        REQUIRE(sync().state == SyncState::applied); // no fleet.toml: no gate
    }
    /// A new commit with fleet.toml `toml` ("" = none), /etc/motd = `motd`.
    std::string next(const std::string &motd, const std::string &toml = policy) {
        std::string c = repo.commit(files({{"/etc/motd", motd}}), motd);
        if (!toml.empty()) repo.root_files[c + ":fleet.toml"] = toml;
        return c;
    }
    void mark(const std::string &wave, const std::string &host, MarkState s, const std::string &commit) {
        status_refs[fleet::marker_ref(wave, host)] = fleet::marker_id(commit, s);
    }
};

} // namespace

TEST_CASE("fleet gate: without [report] fleet.toml is not read, and a host applies at once") {
    EngineHost h;
    h.repo.commit(h.files({{"/etc/motd", "one"}}));
    h.repo.root_files[h.repo.head + ":fleet.toml"] = policy;
    CHECK(h.sync().state == SyncState::applied);
    CHECK(h.listings.empty());
    CHECK(h.engine->status().wave.empty());
}

TEST_CASE("fleet gate: wave 0 applies at once; a later wave keeps its generation until the earlier wave is good and `after` passed") {
    Fleet canary("canary1");
    std::string c = canary.next("two");
    CHECK(canary.sync().state == SyncState::applied);
    CHECK(canary.listings.empty()); // wave 0 asks nobody
    CHECK(canary.engine->status().wave == "canary");

    Fleet h;
    c = h.next("two");
    h.mark("canary", "c1", MarkState::waiting, c);
    h.mark("canary", "c2", MarkState::good, h.c1);
    auto r = h.sync();
    CHECK(r.state == SyncState::waiting);
    CHECK(r.message == "waiting: wave early needs canary 2/2 good, has 0 (c1: waiting, c2: on another commit)");
    CHECK(h.read("/etc/motd") == "one");
    CHECK(h.engine->status().generation == 1);
    CHECK(h.engine->status().wave == "early");
    CHECK(h.engine->status().rollout == "waiting");
    CHECK(h.engine->status().rollout_commit == c);
    CHECK(h.engine->status().rollout_reason == r.message);
    CHECK(h.engine->status().last_result == "waiting");
    REQUIRE(h.listings.size() == 1);
    CHECK(h.listings[0] == std::vector<std::string>{"refs/fjord/waves/canary/"});
    // One gate check a poll, and only while the commit waits; asked before the fetch, so a
    // waiting host renders nothing again.
    int renders = h.repo.renders, fetches = h.repo.fetches;
    CHECK(h.sync().state == SyncState::waiting);
    CHECK(h.listings.size() == 2);
    CHECK(h.repo.renders == renders);
    CHECK(h.repo.fetches == fetches);

    h.mark("canary", "c1", MarkState::good, c);
    h.mark("canary", "c2", MarkState::good, c);
    r = h.sync();
    CHECK(r.state == SyncState::waiting);
    CHECK(has(r.message, "waiting: wave early is due in 10m"));
    h.wall += 599;
    CHECK(h.sync().state == SyncState::waiting);
    h.wall += 1;
    auto asked = h.listings.size();
    r = h.sync();
    CHECK(r.state == SyncState::applied);
    CHECK(h.listings.size() == asked + 1); // open at the gates stage: the guard does not ask again
    CHECK(h.read("/etc/motd") == "two");
    CHECK(h.engine->status().rollout.empty());
    CHECK(h.engine->status().rollout_reason.empty());
    CHECK(h.engine->status().wave == "early");
    auto listed = h.listings.size();
    CHECK(h.sync().state == SyncState::up_to_date);
    CHECK(h.listings.size() == listed); // the idle path asks nobody
}

TEST_CASE("fleet gate: the first-satisfied time survives a restart (STATE/fleet.json)") {
    Fleet h;
    std::string c = h.next("two");
    h.mark("canary", "c1", MarkState::good, c);
    CHECK(h.sync().state == SyncState::waiting);
    h.open();
    h.wall += 600;
    CHECK(h.sync().state == SyncState::applied);
}

TEST_CASE("fleet gate: a failed marker in an earlier wave halts the commit here, for good") {
    Fleet h;
    std::string c = h.next("two");
    h.mark("canary", "c1", MarkState::good, c);
    h.mark("canary", "c2", MarkState::failed, c);
    auto r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(r.message == "halted: commit " + c.substr(0, 7) + " failed in wave canary (c2)");
    CHECK(h.engine->status().rollout == "halted");
    CHECK(h.read("/etc/motd") == "one");
    auto text = read_file(h.state("fleet.json"));
    REQUIRE(text);
    CHECK(has(*text, "\"halts\""));
    // The failure disappears from the status repo: still halted, and the repo is not asked.
    h.mark("canary", "c2", MarkState::good, c);
    auto listed = h.listings.size();
    CHECK(h.sync().state == SyncState::refused);
    h.open();
    r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(has(r.message, "halted: commit"));
    CHECK(h.listings.size() == listed);
    CHECK(h.read("/etc/motd") == "one");
    // A newer commit starts its own rollout.
    std::string fix = h.next("three");
    h.mark("canary", "c1", MarkState::good, fix);
    h.mark("canary", "c2", MarkState::good, fix);
    h.wall += 600;
    CHECK(h.sync().state == SyncState::waiting); // first satisfied now: after runs from here
    h.wall += 600;
    CHECK(h.sync().state == SyncState::applied);
    CHECK(h.read("/etc/motd") == "three");
}

TEST_CASE("fleet gate: mode all and sync --skip-waves apply at once") {
    Fleet h;
    h.next("two", std::string("mode = \"all\"\n") + policy);
    CHECK(h.sync().state == SyncState::applied);
    CHECK(h.listings.empty());
    CHECK(h.engine->status().wave == "all");
    h.next("three");
    CHECK(h.sync().state == SyncState::waiting);
    SyncOptions o;
    o.manual = true;
    o.skip_waves = true;
    CHECK(h.sync(o).state == SyncState::applied);
    CHECK(h.read("/etc/motd") == "three");
    CHECK(h.engine->status().rollout.empty());
}

TEST_CASE("fleet gate: an unreachable status repo only delays") {
    Fleet h;
    h.next("two");
    h.status_error = Error{Errc::network, "git://fake/status: connect: Connection refused"};
    h.wall += 100000;
    auto r = h.sync();
    CHECK(r.state == SyncState::waiting);
    CHECK(r.message == "waiting: status repository unreachable: git://fake/status: connect: Connection refused");
    CHECK(h.read("/etc/motd") == "one");
    h.status_error.reset();
    CHECK(h.sync().state == SyncState::waiting); // nobody reported: only `after` from now
}

TEST_CASE("fleet gate: a commit without fleet.toml, and one with a bad fleet.toml") {
    Fleet h;
    h.next("two", "");
    CHECK(h.sync().state == SyncState::applied);
    CHECK(h.engine->status().wave == "all");
    h.next("three", "[[wave]]\nname = \"a\"\nafter = \"1m\"\n");
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "fleet.toml:3:9: wave[0].after: the first wave has no gate"));
    CHECK(h.read("/etc/motd") == "two");
}
