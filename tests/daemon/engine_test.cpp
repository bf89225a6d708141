// The engine driven whole, as ninja's build_test drives its builder: the real pipeline, store
// and transaction on a temp folder, fakes for Git, systemd, podman, probes, the clock, the
// registries and the webhooks (tests/support/). At least one test per row of the transition
// table; zz_rows_test.cpp fails when a row has none.
#include "support/engine_host.hpp"

#include "daemon/attempts.hpp"
#include "daemon/log.hpp"
#include "secrets/age.hpp"
#include "secrets/age_identity.hpp"
#include "util/hash.hpp"
#include "util/fs.hpp"
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace fjord;
using namespace fjord::test;

namespace {

bool has(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

void spit(const std::string &p, const std::string &c) {
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << c;
}

/// Container web from localhost/bb:1, an image the fake podman already holds, added to `d`.
ContainerSpec local_web(EngineHost &h, DesiredState &d) {
    ContainerSpec web;
    web.name = "web";
    web.image = "localhost/bb:1";
    d.containers["web"] = web;
    PodmanImage img{"id1", {"localhost/bb@sha256:1"}};
    for (const char *ref : {"localhost/bb:1", "localhost/bb@sha256:1", "id1"}) h.podman.images[ref] = img;
    return web;
}

/// A file's content, or "(absent)".
std::string slurp_or(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) return "(absent)";
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}


SyncOptions manual() {
    SyncOptions o;
    o.manual = true;
    return o;
}

CheckSpec check(const std::string &name) {
    CheckSpec c;
    c.name = name;
    c.http = "http://127.0.0.1:1/";
    c.failure_threshold = 1;
    return c;
}

// A host with generation 1 applied: /etc/motd "one".
struct Applied : EngineHost {
    std::string c1;
    Applied() {
        c1 = repo.commit(files({{"/etc/motd", "one"}}), "first");
        auto r = sync();
        REQUIRE(r.state == SyncState::applied);
    }
};

} // namespace

// ---- poll --------------------------------------------------------------------------------

TEST_CASE("poll: not configured") {
    EngineHost h;
    h.cfg.source.url = "";
    auto r = h.sync();
    CHECK(r.state == SyncState::not_configured);
    CHECK(has(r.message, "source.url is not set"));
    CHECK(h.repo.polls == 0);
}

TEST_CASE("poll: a damaged state dir applies nothing, naming the file and the repair") {
    Applied h;
    h.engine.reset();
    spit(h.state("generations/1/files"), "garbage");
    spit(h.state("generations/1/files.copy"), "garbage");
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    int polls = h.repo.polls;
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "generations/1/files"));
    CHECK(has(r.message, "fjordctl repair"));
    CHECK(h.read("/etc/motd") == "one");
    CHECK(h.repo.polls == polls);
    CHECK(has(h.engine->repair(false), "repair would"));
    CHECK(has(h.engine->repair(true), "set generation 1 aside"));
    CHECK(h.engine->problem().empty());
}

TEST_CASE("poll: a recovery that fails is retried at every sync, and nothing is fetched meanwhile") {
    EngineHost h;
    h.units_active = false;
    DesiredState d = h.files({{"/etc/motd", "one"}});
    (void)local_web(h, d);
    h.repo.commit(d);
    REQUIRE(h.sync().state == SyncState::applied);
    h.engine.reset();
    // A transaction towards generation 2 (its container differs) killed mid-way, and podman down.
    auto g1 = Store::open(h.cfg.state.dir)->load(1);
    Generation g2 = *g1;
    g2.info.number = 2;
    g2.info.outcome = Outcome::pending;
    g2.containers.clear();
    REQUIRE(Store::open(h.cfg.state.dir)->save(g2));
    REQUIRE(Store::open(h.cfg.state.dir)->write_journal(Journal{1, 2, "apply", {"/etc/motd"}}));
    h.podman.down = true;
    h.open();
    CHECK(!h.engine->problem().empty());
    int polls = h.repo.polls;
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "recover"));
    CHECK(h.repo.polls == polls);
    h.podman.down = false;
    CHECK(h.sync().state == SyncState::up_to_date); // recovered at this sync, and the host is as generation 1 had it
    CHECK(h.engine->problem().empty());
}

TEST_CASE("poll: a remote that does not answer is counted and said once") {
    Applied h;
    h.repo.poll_error = Error{Errc::network, "poll git://fake: connection refused"};
    auto a = h.sync();
    auto b = h.sync();
    CHECK(a.state == SyncState::failed);
    CHECK(h.engine->status().poll_errors.at("network") == 2);
    auto ev = h.events();
    CHECK(std::count(ev.begin(), ev.end(), "failed") == 1); // the same failure poll after poll is sent once
}

// ---- gates -------------------------------------------------------------------------------

TEST_CASE("gates: the head found, and nothing new is the idle path: nothing fetched or rendered") {
    Applied h;
    int fetches = h.repo.fetches, renders = h.repo.renders;
    auto r = h.sync();
    CHECK(r.state == SyncState::up_to_date);
    CHECK(h.repo.fetches == fetches);
    CHECK(h.repo.renders == renders);
}

TEST_CASE("gates: in fjordd's loop an idle poll writes no status.json; a change and the stop do") {
    Applied h;
    h.engine->defer_time_saves();
    const std::string path = h.cfg.state.dir + "/status.json";
    // status.json is replaced by a rename at every write: a new inode.
    auto inode = [&] {
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        return st.st_ino;
    };
    CHECK(h.sync().state == SyncState::up_to_date); // "applied" -> "up-to-date": written
    auto before = inode();
    h.engine->set_next_poll(std::time(nullptr) + 60);
    CHECK(h.sync().state == SyncState::up_to_date);
    h.engine->set_next_poll(std::time(nullptr) + 61);
    CHECK(inode() == before);
    CHECK(read_status(h.cfg.state.dir)->next_poll != h.engine->status().next_poll); // in memory only
    h.engine->flush_status(); // fjordd stopping
    CHECK(inode() != before);
    CHECK(read_status(h.cfg.state.dir)->next_poll == h.engine->status().next_poll);
    CHECK(read_status(h.cfg.state.dir)->last_sync == h.engine->status().last_sync);
    before = inode();
    h.engine->flush_status(); // nothing left to write
    CHECK(inode() == before);
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    CHECK(h.sync().state == SyncState::applied);
    CHECK(inode() != before);
    CHECK(read_status(h.cfg.state.dir)->commit == h.engine->status().commit);
}

TEST_CASE("gates: suspended, pinned, halted") {
    Applied h;
    REQUIRE(h.engine->suspend());
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    auto r = h.sync();
    CHECK(r.state == SyncState::suspended);
    CHECK(h.read("/etc/motd") == "one");
    REQUIRE(h.engine->resume());
    CHECK(h.sync().state == SyncState::applied);
    CHECK(h.read("/etc/motd") == "two");
}

TEST_CASE("gates: a quarantined commit is not tried again, and says why at every poll") {
    Applied h;
    DesiredState d = h.files({{"/etc/motd", "two"}});
    d.checks = {check("web")};
    h.probes["web"] = {false};
    h.repo.commit(d);
    auto first = h.sync();
    CHECK(first.state == SyncState::failed);
    int renders = h.repo.renders;
    auto again = h.sync();
    CHECK(again.state == SyncState::failed);
    CHECK(has(again.message, "failed before and is not retried"));
    CHECK(has(again.message, "check web")); // the reason stays with the mark
    CHECK(again.continuation);
    CHECK(h.repo.renders == renders);
    SyncOptions retry;
    retry.retry = true;
    h.probes["web"] = {true};
    CHECK(h.sync(retry).state == SyncState::applied);
}

TEST_CASE("gates: a commit waiting out its backoff; a manual sync tries at once") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.render_errors = {Error{Errc::io, "fork: Resource temporarily unavailable"}};
    auto a = h.sync();
    CHECK(a.state == SyncState::failed);
    CHECK(has(a.message, "tried again in 60 s"));
    auto b = h.sync();
    CHECK(b.state == SyncState::failed);
    CHECK(has(b.message, "waiting 60 s before the next try"));
    CHECK(h.sync(manual()).state == SyncState::applied);
}

TEST_CASE("gates: a refusal is remembered: polls do not render the commit again") {
    Applied h;
    h.cfg.apply.max_deletions = 0;
    h.open();
    h.repo.commit(h.files({{"/etc/issue", "x"}}));
    auto a = h.sync();
    CHECK(a.state == SyncState::refused);
    CHECK(has(a.message, "more than apply.max_deletions = 0"));
    int renders = h.repo.renders;
    auto b = h.sync();
    CHECK(b.state == SyncState::refused);
    CHECK(h.repo.renders == renders);
    SyncOptions once = manual();
    once.allow_deletions = 1;
    CHECK(h.sync(once).state == SyncState::applied);
    CHECK(!h.exists("/etc/motd"));
}

TEST_CASE("gates: prerequisites.mode = block holds a commit back, neither marked bad nor remembered") {
    Applied h;
    std::string why = "host check disk failed";
    h.engine->set_apply_gate([&] { return why; });
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    auto r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(r.message == why);
    why.clear();
    CHECK(h.sync().state == SyncState::applied);
}

// ---- fetch, verify -------------------------------------------------------------------------

TEST_CASE("fetch: a failed fetch is retried at the next poll; fetched goes on") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.fetch_error = Error{Errc::network, "fetch: connection reset"};
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(h.engine->status().poll_errors.at("network") == 1);
    h.repo.fetch_error.reset();
    CHECK(h.sync().state == SyncState::applied);
}

TEST_CASE("fetch: a damaged Git cache is cloned again and the commit applies in the same run") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.fetch_error = Error{Errc::network, "corrupted loose reference file"};
    h.repo.verify_error = Error{Errc::corrupt, "refs/fjord/remote: corrupted"};
    auto r = h.sync();
    CHECK(r.state == SyncState::applied);
    CHECK(h.repo.resets == 1);
    CHECK(h.read("/etc/motd") == "two");
}

TEST_CASE("verify: a cache that lost the applied commit is cloned again, never taken for a force-push") {
    Applied h;
    auto c2 = h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.lost = {h.c1};
    auto r = h.sync();
    CHECK(r.state == SyncState::applied);
    CHECK(h.repo.resets == 1);
}

TEST_CASE("verify: a cache still damaged after it was cloned again fails this sync once, no loop") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.lost = {h.c1};
    h.repo.heal_on_reset = false; // cloning again does not help
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(h.repo.resets == 1);
    CHECK(has(r.message, "tried again at the next poll"));
    CHECK(h.read("/etc/motd") == "one");
}

TEST_CASE("verify: a rewritten history is refused and remembered; accepted once on request") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "forced"}}), "forced", std::string());
    auto r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(has(r.message, "history rewritten"));
    CHECK(h.read("/etc/motd") == "one");
    SyncOptions accept = manual();
    accept.accept_rewrite = true;
    CHECK(h.sync(accept).state == SyncState::applied);
}

TEST_CASE("verify: the history check failing is this sync's failure, tried at the next poll") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.descends_error = Error{Errc::killed, "history sandbox: the child did not finish"};
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "tried again at the next poll"));
    h.repo.descends_error.reset();
    CHECK(h.sync().state == SyncState::applied);
}

TEST_CASE("verify: signatures: refused (remembered), or failing to check (retried)") {
    Applied h;
    h.cfg.source.allowed_signers = h.dir.path + "/allowed_signers";
    h.open();
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.signer_error = Error{Errc::refused, "not signed by an allowed key"};
    auto a = h.sync();
    CHECK(a.state == SyncState::refused);
    h.repo.signer_error = Error{Errc::io, "allowed_signers: No such file"};
    auto b = h.sync(manual());
    CHECK(b.state == SyncState::failed);
    h.repo.signer_error.reset();
    auto c = h.sync(manual());
    CHECK(c.state == SyncState::applied);
}

// ---- render --------------------------------------------------------------------------------

TEST_CASE("render: bad content quarantines the commit") {
    Applied h;
    auto c2 = h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.commits[c2].render_error = Error{Errc::invalid, "hosts/h/fjord.toml:1:1: bad"};
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().count(c2));
}

TEST_CASE("render: a renderer killed twice on one commit quarantines it; once is retried") {
    Applied h;
    auto c2 = h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.render_errors = {Error{Errc::killed, "render sandbox: child killed by SIGKILL"},
                            Error{Errc::killed, "render sandbox: child killed by SIGKILL"}};
    auto a = h.sync();
    CHECK(a.state == SyncState::failed);
    CHECK(has(a.message, "the renderer died"));
    CHECK_FALSE(Store::open(h.cfg.state.dir)->bad_commits().count(c2));
    auto b = h.sync(manual());
    CHECK(has(b.message, "marked bad"));
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().count(c2));
    CHECK(h.engine->status().renders_total == 3); // one good commit, two deaths
}

TEST_CASE("render: a damaged cache is cloned again and rendered again; the renderer's own trouble backs off") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    h.repo.render_errors = {Error{Errc::corrupt, "blob 123 is missing from the Git cache"}};
    CHECK(h.sync().state == SyncState::applied);
    CHECK(h.repo.resets == 1);
    h.repo.commit(h.files({{"/etc/motd", "three"}}));
    h.repo.render_errors = {Error{Errc::unavailable, "fork: Resource temporarily unavailable"}};
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "not known to be the commit's fault"));
    CHECK(has(r.message, "tried again in 60 s"));
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().empty());
}

// ---- plan ----------------------------------------------------------------------------------

TEST_CASE("plan: a dry run shows the plan and changes nothing") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    SyncOptions dry;
    dry.dry_run = true;
    auto r = h.sync(dry);
    CHECK(r.state == SyncState::dry_run);
    CHECK(has(r.plan, "~ /etc/motd"));
    CHECK(h.read("/etc/motd") == "one");
}

TEST_CASE("plan: a preview of a commit an apply would refuse shows its changes, then why (issue 19)") {
    // Over max_deletions: the plan and its content, then the refusal; nothing applied.
    Applied h;
    h.cfg.apply.max_deletions = 0;
    h.open();
    h.repo.commit(h.files({{"/etc/issue", "x"}}));
    SyncOptions dry;
    dry.dry_run = true;
    auto a = h.sync(dry);
    CHECK(a.state == SyncState::dry_run);
    CHECK(has(a.plan, "- /etc/motd"));
    CHECK(has(a.diff, "+ /etc/issue"));
    CHECK(has(a.refusal, "more than apply.max_deletions = 0"));
    CHECK(has(a.message, "would be refused: "));
    CHECK(h.exists("/etc/motd"));
    // A force-push: rendered and shown all the same.
    Applied f;
    f.repo.commit(f.files({{"/etc/motd", "forced"}}), "forced", std::string());
    auto b = f.sync(dry);
    CHECK(b.state == SyncState::dry_run);
    CHECK(has(b.plan, "~ /etc/motd"));
    CHECK(has(b.refusal, "history rewritten"));
    CHECK(f.read("/etc/motd") == "one");
    // prerequisites.mode = block.
    Applied p;
    p.engine->set_apply_gate([] { return std::string("host check disk failed"); });
    p.repo.commit(p.files({{"/etc/motd", "two"}}));
    auto c = p.sync(dry);
    CHECK(c.state == SyncState::dry_run);
    CHECK(has(c.plan, "~ /etc/motd"));
    CHECK(c.refusal == "host check disk failed");
    // A commit quarantined before.
    Applied q;
    DesiredState d = q.files({{"/etc/motd", "two"}});
    d.checks = {check("web")};
    q.probes["web"] = {false};
    q.repo.commit(d);
    CHECK(q.sync().state == SyncState::failed);
    auto e = q.sync(dry);
    CHECK(e.state == SyncState::dry_run);
    CHECK(has(e.plan, "~ /etc/motd"));
    CHECK(has(e.refusal, "failed before and is not retried"));
    // A preview of a commit nothing refuses says nothing of a refusal.
    Applied ok;
    ok.repo.commit(ok.files({{"/etc/motd", "two"}}));
    CHECK(ok.sync(dry).refusal.empty());
}

TEST_CASE("plan: a commit that changes nothing makes no generation; a check naming no container is the commit's") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "one"}}));
    auto r = h.sync();
    CHECK(r.state == SyncState::up_to_date);
    CHECK(has(r.message, "changes nothing"));
    CHECK(*Store::open(h.cfg.state.dir)->next_number() == 2);
    DesiredState d = h.files({{"/etc/motd", "one"}});
    CheckSpec c;
    c.name = "app";
    c.container = "app";
    d.checks = {c};
    h.repo.commit(d);
    auto bad = h.sync();
    CHECK(bad.state == SyncState::failed);
    CHECK(has(bad.message, "no such container in this generation"));
}

TEST_CASE("plan: a folder in the way on the host is the host's: backoff, not quarantine") {
    Applied h;
    auto c2 = h.repo.commit(h.files({{"/etc/motd", "one"}, {"/srv/x", "x"}}));
    std::filesystem::create_directories(h.root("/srv/x"));
    auto r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(has(r.message, "tried again in"));
    CHECK_FALSE(Store::open(h.cfg.state.dir)->bad_commits().count(c2));
}

TEST_CASE("plan: the host cannot be looked at (a name it cannot hold): retried with backoff") {
    Applied h;
    std::filesystem::create_directories(h.root("/srv"));
    h.repo.commit(h.files({{"/etc/motd", "one"}, {"/srv/" + std::string(300, 'n') + "/x", "x"}}));
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "tried again in"));
}

// ---- guard ---------------------------------------------------------------------------------

TEST_CASE("guard: validate refuses the generation (history shows it); a pre-apply hook is a gate") {
    Applied h;
    DesiredState d = h.files({{"/etc/motd", "two"}});
    d.files.at("/etc/motd").validate = {"sh", "-c", "echo nope; exit 1", "sh", "%s"};
    auto c2 = h.repo.commit(d);
    auto r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(has(r.message, "validate /etc/motd"));
    CHECK(Store::open(h.cfg.state.dir)->load_info(2)->outcome == Outcome::refused);
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().count(c2));

    DesiredState d3 = h.files({{"/etc/motd", "three"}});
    HookSpec gate;
    gate.when = "pre-apply";
    gate.exec = {"false"};
    d3.hooks = {gate};
    auto c3 = h.repo.commit(d3);
    auto g = h.sync();
    CHECK(g.state == SyncState::refused);
    CHECK(has(g.message, "tried again at the next poll"));
    CHECK_FALSE(Store::open(h.cfg.state.dir)->bad_commits().count(c3));
}

TEST_CASE("guard: a [unit] table for a unit nobody knows is refused before anything changes") {
    EngineHost h;
    h.units_active = true;
    DesiredState d = h.files({{"/etc/motd", "one"}});
    UnitSpec ghost;
    ghost.name = "ghost.service";
    d.units[ghost.name] = ghost;
    h.systemd.units["ghost.service"] = UnitState{"not-found", "inactive", "dead", "", ""};
    h.repo.commit(d);
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "systemd has no such unit"));
    CHECK_FALSE(h.exists("/etc/motd"));
    CHECK(h.systemd.calls.empty());
}

TEST_CASE("guard: systemd out of reach is the host's: backoff") {
    EngineHost h;
    h.units_active = true;
    h.open();
    // The port answers with an error, as a bus that is down does.
    h.engine.reset();
    Ports p = h.ports();
    p.systemd = [](const Config &) -> Result<std::unique_ptr<SystemdManager>> {
        return fail(Errc::unavailable, "systemd: connect to the system bus: Connection refused");
    };
    h.engine = std::move(*Engine::open(h.cfg, p));
    DesiredState d = h.files({{"/etc/motd", "one"}});
    UnitSpec u;
    u.name = "web.service";
    d.units[u.name] = u;
    h.repo.commit(d);
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "tried again in"));
}

TEST_CASE("guard: the loop detector halts applies of a commit whose attempts never finish") {
    Applied h;
    auto c2 = h.repo.commit(h.files({{"/etc/motd", "two"}}));
    spit(h.state("attempts"), c2 + " 3\n");
    auto r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(has(r.message, "halted"));
    REQUIRE(r.msgid);
    CHECK(std::string(r.msgid) == msgid::refused);
    auto ev = h.events();
    CHECK(std::count(ev.begin(), ev.end(), "refused") == 1);
    CHECK(h.read("/etc/motd") == "one");
    CHECK(h.sync().state == SyncState::suspended);
    REQUIRE(h.engine->resume());
    CHECK(h.sync().state == SyncState::applied);
}

// ---- transact --------------------------------------------------------------------------------

TEST_CASE("transact: applied and marked good; its generation keeps its checks") {
    EngineHost h;
    DesiredState d = h.files({{"/etc/motd", "one"}});
    d.checks = {check("web")};
    auto c1 = h.repo.commit(d, "first");
    auto r = h.sync();
    CHECK(r.state == SyncState::applied);
    CHECK(r.generation == 1);
    CHECK(h.read("/etc/motd") == "one");
    CHECK(h.engine->status().commit == c1);
    CHECK(h.engine->status().commit_subject == "first");
    CHECK(Store::open(h.cfg.state.dir)->load(1)->checks.size() == 1);
    CHECK(h.repo.kept.at("1") == c1);
    auto ev = h.events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0] == "applied");
}

TEST_CASE("transact: failing checks roll back, quarantine, and the restored generation is checked again") {
    Applied h;
    DesiredState d = h.files({{"/etc/motd", "two"}});
    d.checks = {check("web")};
    h.probes["web"] = {false};
    auto c2 = h.repo.commit(d);
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(r.rolled_back);
    CHECK(h.read("/etc/motd") == "one");
    CHECK(has(r.message, "restored generation 1 passed its health checks again"));
    auto info = Store::open(h.cfg.state.dir)->load_info(2);
    CHECK(info->outcome == Outcome::rolled_back);
    CHECK(has(info->message, "restored generation 1 passed"));
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().count(c2));
    CHECK(h.engine->status().rollbacks_total == 1);
    auto ev = h.events();
    CHECK(ev.back() == "rolled_back");
}

TEST_CASE("transact: when the restored generation fails its checks too, applies halt") {
    EngineHost h;
    DesiredState d1 = h.files({{"/etc/motd", "one"}});
    d1.checks = {check("web")};
    h.repo.commit(d1);
    REQUIRE(h.sync().state == SyncState::applied);
    DesiredState d2 = h.files({{"/etc/motd", "two"}});
    d2.checks = {check("web")};
    h.repo.commit(d2);
    h.probes["web"] = {false};
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "failed its health checks too"));
    CHECK(has(h.engine->status().suspended, "halted"));
    CHECK(h.sync().state == SyncState::suspended);
}

TEST_CASE("transact: a unit systemd refuses is the commit's (quarantined); one it cannot reach now backs off") {
    EngineHost h;
    h.units_active = true;
    DesiredState d = h.files({{"/etc/motd", "one"}, {"/etc/systemd/system/web.service", "[Service]\n"}});
    UnitSpec u;
    u.name = "web.service";
    u.id = d.files.at("/etc/systemd/system/web.service").id;
    d.units[u.name] = u;
    h.repo.commit(d);
    REQUIRE(h.sync().state == SyncState::applied);

    DesiredState d2 = d;
    d2.files.erase("/etc/motd");
    d2.files.emplace("/etc/motd", h.repo.file("/etc/motd", "two"));
    d2.units.at("web.service").watch = {"/etc/motd"};
    auto c2 = h.repo.commit(d2);
    h.systemd.failing = {"restart web.service"};
    h.systemd.fail_code = Errc::invalid;
    auto bad = h.sync();
    CHECK(bad.state == SyncState::failed);
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().count(c2));
    CHECK(h.read("/etc/motd") == "one");

    DesiredState d3 = d2;
    d3.files.erase("/etc/motd");
    d3.files.emplace("/etc/motd", h.repo.file("/etc/motd", "three"));
    auto c3 = h.repo.commit(d3);
    h.systemd.failing = {"restart web.service"};
    h.systemd.fail_code = Errc::unavailable;
    auto later = h.sync();
    CHECK(later.state == SyncState::failed);
    CHECK(later.rolled_back);
    CHECK(has(later.message, "tried again in"));
    CHECK_FALSE(Store::open(h.cfg.state.dir)->bad_commits().count(c3));
}

TEST_CASE("transact: podman down before the journal changes nothing and backs off") {
    Applied h;
    DesiredState d = h.files({{"/etc/motd", "two"}});
    ContainerSpec web;
    web.name = "web";
    web.image = "registry.invalid/bb:1";
    d.containers["web"] = web;
    h.repo.commit(d);
    h.podman.down = true;
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK_FALSE(r.rolled_back);
    CHECK(has(r.message, "tried again in"));
    CHECK(h.read("/etc/motd") == "one");
}

TEST_CASE("transact: content missing from the cache and the store clones the cache again") {
    Applied h;
    DesiredState d = h.files({{"/etc/motd", "two"}});
    h.repo.blob_store.erase(d.files.at("/etc/motd").id);
    h.repo.commit(d);
    auto r = h.sync();
    CHECK(r.state == SyncState::failed);
    CHECK(h.repo.resets == 1);
    CHECK(h.read("/etc/motd") == "one");
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().empty()); // the cache's fault, not the commit's
}

TEST_CASE("transact: a container of that name fjord did not make is the host in the way: refused, backs off") {
    Applied h;
    DesiredState d = h.files({{"/etc/motd", "two"}});
    ContainerSpec web = local_web(h, d);
    h.podman.boxes["web"] = FakePodman::Box{"localhost/bb:1", {}, true, web}; // made by hand, no fjord labels
    auto c2 = h.repo.commit(d);
    auto r = h.sync();
    CHECK(r.state == SyncState::refused);
    CHECK(has(r.message, "tried again in"));
    CHECK(Store::open(h.cfg.state.dir)->bad_commits().count(c2) == 0);
    CHECK(h.read("/etc/motd") == "one");
    auto ev = h.events();
    CHECK(std::count(ev.begin(), ev.end(), "refused") == 1);
}

// ---- rollback -------------------------------------------------------------------------------

TEST_CASE("rollback: back to a good generation, units converged, its checks run, then pinned") {
    EngineHost h;
    h.units_active = true;
    DesiredState d = h.files({{"/etc/motd", "one"}});
    UnitSpec web;
    web.name = "web.service";
    d.units[web.name] = web;
    d.checks = {check("web")};
    h.repo.commit(d);
    REQUIRE(h.sync().state == SyncState::applied);
    DesiredState d2 = h.files({{"/etc/motd", "two"}});
    d2.units = d.units;
    h.repo.commit(d2);
    REQUIRE(h.sync().state == SyncState::applied);
    h.systemd.calls.clear();
    auto r = h.engine->rollback(1);
    CHECK(r.state == SyncState::applied);
    CHECK(h.read("/etc/motd") == "one");
    CHECK(h.systemd.count("start web.service") == 1); // converged: running, though nothing of it changed
    CHECK(has(h.engine->status().suspended, "pinned to generation 3"));
    CHECK(Store::open(h.cfg.state.dir)->load(3)->checks.size() == 1);
    // Webhooks hear an operator's rollback as a rollback, not as an ordinary apply.
    auto ev = h.events();
    REQUIRE(ev.size() == 3);
    CHECK(ev.back() == "rolled_back");
    h.repo.commit(h.files({{"/etc/motd", "four"}}));
    CHECK(h.sync().state == SyncState::suspended);
}

TEST_CASE("rollback: refused for a generation not kept; a failing check leaves the host and the pin") {
    Applied h;
    auto none = h.engine->rollback(7);
    CHECK(none.state == SyncState::failed);
    CHECK(has(none.message, "generation 7"));
    // A generation folder whose header is lost (an apply cut short): damaged, and repair is named.
    std::filesystem::create_directories(h.cfg.state.dir + "/generations/8");
    auto headless = h.engine->rollback(8);
    CHECK(headless.state == SyncState::failed);
    CHECK(has(headless.message, "generation 8 is damaged and cannot be a rollback target ("));
    CHECK(has(headless.message, "`fjordctl repair`"));
    std::filesystem::remove(h.cfg.state.dir + "/generations/8");
    auto ev = h.events();
    CHECK(std::count(ev.begin(), ev.end(), "failed") == 2); // each told to [[notify]] too
    DesiredState d2 = h.files({{"/etc/motd", "two"}});
    h.repo.commit(d2);
    REQUIRE(h.sync().state == SyncState::applied);
    // Generation 1 gains a check that fails now (its record, as a later fjord keeps it).
    auto store = *Store::open(h.cfg.state.dir);
    auto g1 = *store.load(1);
    g1.checks = {check("web")};
    REQUIRE(store.save(g1));
    h.probes["web"] = {false};
    auto r = h.engine->rollback(1);
    CHECK(r.state == SyncState::failed);
    CHECK(has(r.message, "the host is on generation 2"));
    CHECK(h.read("/etc/motd") == "two");
    CHECK(has(h.engine->status().suspended, "pinned to generation 2"));
}

TEST_CASE("rollback: to a generation the host already matches makes no generation, and pins") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    REQUIRE(h.sync().state == SyncState::applied);
    h.repo.commit(h.files({{"/etc/motd", "one"}}));
    REQUIRE(h.sync().state == SyncState::applied); // generation 3, as generation 1 was
    auto r = h.engine->rollback(1);
    CHECK(r.state == SyncState::applied);
    CHECK(has(r.message, "nothing to change"));
    CHECK(*Store::open(h.cfg.state.dir)->current() == 3);
    CHECK_FALSE(Store::open(h.cfg.state.dir)->load_info(4));
    CHECK(has(h.engine->status().suspended, "pinned to generation 3"));
}

TEST_CASE("rollback: a manual rollback halts when the generation it restores fails its checks too") {
    Applied h;
    h.repo.commit(h.files({{"/etc/motd", "two"}}));
    REQUIRE(h.sync().state == SyncState::applied);
    auto store = *Store::open(h.cfg.state.dir);
    auto g1 = *store.load(1);
    g1.checks = {check("web")};
    REQUIRE(store.save(g1));
    auto g2 = *store.load(2);
    g2.checks = {check("web")};
    REQUIRE(store.save(g2));
    h.engine.reset();
    h.open();
    h.probes["web"] = {false};
    auto r = h.engine->rollback(1);
    CHECK(r.state == SyncState::failed);
    CHECK(has(Store::open(h.cfg.state.dir)->flag("halted"), "restored generation 2 failed its health checks too"));
    CHECK(h.read("/etc/motd") == "two");
}

// ---- image automation -----------------------------------------------------------------------

namespace {

// A host running container web from 127.0.0.1:5000/demo/bb:1.2.1, update = glob:1.2.*.
struct Images : EngineHost {
    const std::string repo_name = "127.0.0.1:5000/demo/bb";
    Images() {
        podman.registry[repo_name + ":1.2.1"] = "sha256:digest-of-demo/bb:1.2.1";
        podman.registry[repo_name + ":1.2.2"] = "sha256:digest-of-demo/bb:1.2.2";
        registry.repos[repo_name] = {"1.2.1"};
        DesiredState d = files({{"/etc/motd", "one"}});
        ContainerSpec web;
        web.name = "web";
        web.image = repo_name + ":1.2.1";
        web.update = "glob:1.2.*";
        d.containers["web"] = web;
        d.checks = {check("web")};
        repo.commit(d);
        REQUIRE(sync().state == SyncState::applied);
    }
};

} // namespace

TEST_CASE("image automation: a newer tag deployed as a generation; one already running costs nothing") {
    Images h;
    auto none = h.engine->check_images(false);
    CHECK(none.checked);
    CHECK(none.deployed == 0);
    h.registry.repos[h.repo_name] = {"1.2.1", "1.2.2"};
    auto round = h.engine->check_images(false);
    CHECK(round.deployed == 1);
    CHECK(h.engine->status().image_updates_total == 1);
    CHECK(has(h.engine->status().last_image_update, "1.2.1 -> 1.2.2"));
    CHECK(h.sync().state == SyncState::up_to_date); // the chosen tag is in the render key
}

TEST_CASE("image automation: a tag that fails its checks is marked bad; a pull that fails is tried again") {
    Images h;
    h.registry.repos[h.repo_name] = {"1.2.1", "1.2.2"};
    h.probes["web"] = {false};
    auto bad = h.engine->check_images(false);
    CHECK(bad.failed == 1);
    CHECK(has(h.engine->status().last_image_update, "marked bad"));
    auto info = Store::open(h.cfg.state.dir)->load_info(2);
    CHECK(has(info->message, "web: 1.2.1 -> 1.2.2 (glob:1.2.*): "));
    // The restored generation (its check fails too) is said in history, and applies halt.
    CHECK(has(info->message, "restored generation 1 failed its health checks too"));
    CHECK(has(h.engine->status().suspended, "halted"));
    REQUIRE(h.engine->resume());
    h.probes["web"] = {true};
    CHECK(h.engine->check_images(false).deployed == 0); // never tried again

    Images t;
    t.registry.repos[t.repo_name] = {"1.2.1", "1.2.3"};
    t.podman.registry[t.repo_name + ":1.2.3"] = "sha256:digest-of-demo/bb:1.2.3";
    t.podman.down = true;
    auto down = t.engine->check_images(false);
    CHECK(down.failed == 1);
    CHECK(has(t.engine->status().last_image_update, "tried again at the next registry check"));
    t.podman.down = false;
    CHECK(t.engine->check_images(false).deployed == 1);
}

TEST_CASE("image automation: a dry run deploys nothing and writes nothing") {
    Images h;
    h.registry.repos[h.repo_name] = {"1.2.1", "1.2.2"};
    auto before = slurp_or(h.state("images"));
    auto round = h.engine->check_images(true);
    CHECK(round.checked);
    CHECK(round.deployed == 0);
    CHECK(slurp_or(h.state("images")) == before);
    CHECK_FALSE(Store::open(h.cfg.state.dir)->load_info(2));
}

TEST_CASE("image automation: a tag whose container is already there is recorded as running") {
    Images h;
    h.registry.repos[h.repo_name] = {"1.2.1", "1.2.2"};
    // The current generation already runs 1.2.2 by the same digest: nothing to apply.
    auto store = *Store::open(h.cfg.state.dir);
    auto g = *store.load(1);
    g.containers.at("web").spec.image = h.repo_name + ":1.2.2";
    g.containers.at("web").image = h.repo_name + "@sha256:digest-of-demo/bb:1.2.2";
    REQUIRE(store.save(g));
    h.open();
    auto r = h.engine->check_images(false);
    CHECK(r.deployed == 1);
    CHECK(has(h.engine->status().last_image_update, "already running"));
}

// ---- drift ----------------------------------------------------------------------------------

TEST_CASE("drift: none, corrected, reported") {
    Applied h;
    auto none = h.engine->drift_pass();
    REQUIRE(none);
    CHECK(none->empty());
    spit(h.root("/etc/motd"), "edited by hand");
    auto fixed = h.engine->drift_pass();
    REQUIRE(fixed);
    CHECK(fixed->size() == 1);
    CHECK(h.read("/etc/motd") == "one");
    CHECK(h.engine->status().drift_corrections_total == 1);
    h.cfg.apply.drift = DriftMode::report;
    h.open();
    spit(h.root("/etc/motd"), "edited again");
    auto reported = h.engine->drift_pass();
    REQUIRE(reported);
    CHECK(h.read("/etc/motd") == "edited again");
    CHECK(h.engine->status().drifted == 1);
    auto ev = h.events();
    CHECK(std::count(ev.begin(), ev.end(), "drift") == 2);
}

TEST_CASE("drift: a correction that fails is said, and the next apply still goes on") {
    Applied h;
    // The file's content is lost everywhere: left for the next apply to write.
    auto id = Store::open(h.cfg.state.dir)->load(1)->files.at("/etc/motd").spec.id;
    std::filesystem::remove(h.state("objects/" + id.substr(0, 2) + "/" + id.substr(2)));
    h.repo.blob_store.erase(id);
    spit(h.root("/etc/motd"), "edited by hand");
    auto r = h.engine->drift_pass();
    REQUIRE(r);
    CHECK(h.engine->status().drifted == 1);
    h.repo.commit(h.files({{"/etc/motd", "one"}, {"/etc/issue", "x"}}));
    CHECK(h.sync().state == SyncState::applied);
    CHECK(h.read("/etc/motd") == "one");
}

TEST_CASE("drift: a correction that fails outright is said as such") {
    EngineHost h;
    h.open();
    // A secret, encrypted to this host's identity.
    auto id = load_identity_file(h.cfg.secrets.identity);
    REQUIRE(id);
    AgeRecipient self = id->recipient();
    auto sealed = age_encrypt("PASSWORD=hunter2\n", std::span<const AgeRecipient>(&self, 1), false);
    REQUIRE(sealed);
    DesiredState d;
    FileSpec f = h.repo.file("/etc/app.env", ""); // its owner: whoever runs the test
    f.id = blob_id(*sealed);
    f.secret = true;
    f.mode = 0600;
    f.origin = "hosts/h/files/etc/app.env.age";
    f.secret_mac = id->digest("PASSWORD=hunter2\n");
    h.repo.blob_store[f.id] = *sealed;
    d.files[f.path] = f;
    h.repo.commit(d);
    REQUIRE(h.sync().state == SyncState::applied);
    CHECK(h.read("/etc/app.env") == "PASSWORD=hunter2\n");
    // The identity is lost (a new one is made): the secret cannot be written again.
    h.engine.reset();
    std::filesystem::remove(h.cfg.secrets.identity);
    h.open();
    spit(h.root("/etc/app.env"), "edited by hand");
    auto r = h.engine->drift_pass();
    REQUIRE_FALSE(r);
    CHECK(has(r.error().message, "drift correction"));
    CHECK(h.read("/etc/app.env") == "edited by hand");
    auto ev = h.events();
    CHECK(std::count(ev.begin(), ev.end(), "drift") == 0); // a failed correction is logged, not sent
}

// ---- the recorder's reports: reasons that stay (issue 19) ---------------------------------------

TEST_CASE("recorder: a commit that fails to render is an attempt with its whole reason; status keeps it until the remote is back on the applied commit") {
    Applied h;
    auto c2 = h.repo.commit(h.files({{"/etc/motd", "two"}}), "bad one");
    h.repo.commits[c2].render_error = Error{Errc::invalid, "hosts/h/files/a.tmpl:3: undefined variable \"x\"\nhosts/h/files/b.tmpl:1: a second error"};
    for (int i = 0; i < 3; ++i) CHECK(h.sync().state == SyncState::failed); // judged once, then "failed before"
    auto att = read_attempts(h.cfg.state.dir);
    REQUIRE(att);
    REQUIRE(att->size() == 1);
    const Report &a = att->front();
    CHECK(a.commit == c2);
    CHECK(a.subject == "bad one");
    CHECK(a.outcome == "failed");
    CHECK(a.stage == "render");
    CHECK(a.generation == 0);
    CHECK(a.after == 1);
    CHECK(has(a.reason, "a second error")); // the whole text, every line
    CHECK(!a.stages.empty());
    CHECK(Store::open(h.cfg.state.dir)->next_number().value() == 2); // no generation number taken
    auto st = read_status(h.cfg.state.dir);
    REQUIRE(st);
    CHECK(st->remote_head == c2);
    CHECK(st->commit == h.c1);
    CHECK(st->attempted_commit == c2);
    CHECK(st->attempted_outcome == "failed");
    CHECK(has(st->attempted_reason, "a second error"));
    // The remote goes back to the applied commit: the host is on the newest good state again.
    h.repo.head = h.c1;
    CHECK(h.sync().state == SyncState::up_to_date);
    st = read_status(h.cfg.state.dir);
    CHECK(st->attempted_commit == h.c1);
    CHECK(st->attempted_outcome == "up-to-date");
    CHECK(st->attempted_reason.empty());
}

TEST_CASE("recorder: a generation keeps its report: checks with their results, stage timings; a rolled-back one its reason") {
    Applied h;
    DesiredState d = h.files({{"/etc/motd", "two"}});
    d.checks = {check("web")};
    h.probes["web"] = {true};
    h.repo.commit(d, "good one");
    auto r = h.sync();
    REQUIRE(r.state == SyncState::applied);
    auto rep = read_generation_report(h.cfg.state.dir, r.generation);
    REQUIRE(rep);
    CHECK(rep->outcome == "good");
    CHECK(rep->subject == "good one");
    auto web = [](const Report &x) {
        return std::find_if(x.steps.begin(), x.steps.end(), [](const StepRecord &s) { return s.name.starts_with("web "); });
    };
    REQUIRE(web(*rep) != rep->steps.end()); // beside the built-in ones (source)
    CHECK(web(*rep)->kind == "check");
    CHECK(web(*rep)->result == "passed (1 attempt)");
    CHECK(web(*rep)->output == "fine");
    CHECK(rep->stages.back().stage == "transact");
    auto st = read_status(h.cfg.state.dir);
    CHECK(st->attempted_outcome == "applied");
    CHECK(st->attempted_generation == r.generation);

    DesiredState bad = h.files({{"/etc/motd", "three"}});
    bad.checks = {check("web")};
    h.probes["web"] = {false};
    auto c3 = h.repo.commit(bad, "bad one");
    auto f = h.sync();
    REQUIRE(f.state == SyncState::failed);
    auto gen3 = Store::open(h.cfg.state.dir)->next_number().value() - 1;
    rep = read_generation_report(h.cfg.state.dir, gen3);
    REQUIRE(rep);
    CHECK(rep->commit == c3);
    CHECK(rep->outcome == "rolled-back");
    CHECK(has(rep->reason, "check web"));
    REQUIRE(web(*rep) != rep->steps.end());
    CHECK(web(*rep)->result.starts_with("failed"));
    CHECK(web(*rep)->output == "status 500, want 200");
    CHECK(read_attempts(h.cfg.state.dir)->empty()); // it became a generation: no attempt besides
    st = read_status(h.cfg.state.dir);
    CHECK(st->attempted_commit == c3);
    CHECK(st->attempted_outcome == "rolled-back");
    CHECK(st->attempted_generation == gen3);
}
