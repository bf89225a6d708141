#include "apply/drift.hpp"
#include "apply/transaction.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace fjord;
using namespace fjord::test;

namespace {

using Host = ApplyHost;

} // namespace

TEST_CASE("an apply writes files with their modes and commits the generation") {
    Host h;
    auto r = h.apply(state_of({h.spec("/etc/app/app.conf", "port=80\n", 0640), h.spec("/usr/local/bin/x", "#!/bin/sh\n", 0755)}));
    REQUIRE(r);
    CHECK(r->generation == 1);
    CHECK(slurp(h.root.path + "/etc/app/app.conf") == "port=80\n");
    struct stat st;
    REQUIRE(::stat((h.root.path + "/etc/app/app.conf").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    REQUIRE(::stat((h.root.path + "/usr/local/bin/x").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(*h.store.current() == 1);
    CHECK_FALSE(*h.store.journal());
    CHECK(h.store.load_info(1)->outcome == Outcome::good);
}

TEST_CASE("an adopted file gets its original back when Git drops it") {
    Host h;
    spit(h.root.path + "/etc/motd", "the original\n");
    ::chmod((h.root.path + "/etc/motd").c_str(), 0600);
    auto before = snapshot(h.root.path);
    REQUIRE(h.apply(state_of({h.spec("/etc/motd", "managed\n")})));
    CHECK(slurp(h.root.path + "/etc/motd") == "managed\n");
    REQUIRE(h.apply(state_of({h.spec("/etc/other", "x")})));
    REQUIRE(h.apply(state_of({})));
    CHECK(snapshot(h.root.path) == before);
}

TEST_CASE("a failure after changes reverses the whole transaction") {
    Host h;
    spit(h.root.path + "/etc/keep", "host file\n");
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1"), h.spec("/etc/b", "b1")})));
    auto before = snapshot(h.root.path);
    auto r = h.apply(state_of({h.spec("/etc/a", "a2"), h.spec("/etc/keep", "taken"), h.spec("/opt/new/c", "c")}),
                     [] { return Status(fail(Errc::invalid, "health check web failed")); });
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "health check web failed");
    CHECK(snapshot(h.root.path) == before);
    CHECK(*h.store.current() == 1);
    auto info = h.store.load_info(2);
    REQUIRE(info);
    CHECK(info->outcome == Outcome::rolled_back);
    CHECK(info->message == "health check web failed");
}

TEST_CASE("recovery after a crash mid-transaction restores the last good generation") {
    Host h;
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1"), h.spec("/etc/b", "b1")})));
    auto before = snapshot(h.root.path);
    // Simulate a crash: generation 2 and its journal are durable, half the steps ran, and a
    // temp file was left behind.
    auto prev = *h.store.load(1);
    auto d = state_of({h.spec("/etc/a", "a2"), h.spec("/srv/n/new", "n")});
    auto plan = *make_plan(prev, d, h.fs, {});
    plan.next.info.number = 2;
    REQUIRE(h.store.save(plan.next));
    Journal j{1, 2, "apply", {}};
    for (const auto &a : plan.actions) j.paths.push_back(a.path);
    REQUIRE(h.store.write_journal(j));
    spit(h.root.path + "/etc/a", "a2");
    spit(h.root.path + "/srv/n/new", "n");
    spit(h.root.path + "/etc/.b.fjord-tmp", "half");
    ::unlink((h.root.path + "/etc/b").c_str());

    auto jj = h.store.journal();
    REQUIRE(jj);
    REQUIRE(*jj);
    REQUIRE(recover(h.ctx, **jj));
    CHECK(snapshot(h.root.path) == before);
    CHECK_FALSE(*h.store.journal());
    CHECK(h.store.load_info(2)->outcome == Outcome::rolled_back);
}

TEST_CASE("recovery, rollback and drift correction need no Git cache: content is in the object store") {
    Host h;
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1"), h.spec("/etc/b", "b1")})));
    auto before = snapshot(h.root.path);
    auto g1 = *h.store.load(1);
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a2")})));
    // The Git cache is gone (deleted, damaged): nothing below may ask it.
    h.blobs.by_id.clear();
    h.ctx.repo = nullptr;
    // A crash mid-transaction towards generation 3, recovered.
    auto prev = *h.store.load(2);
    auto plan = *make_plan(prev, state_of({h.spec("/etc/a", "a3")}), h.fs, {});
    plan.next.info.number = 3;
    REQUIRE(h.store.save(plan.next));
    Journal j{2, 3, "apply", {"/etc/a"}};
    REQUIRE(h.store.write_journal(j));
    spit(h.root.path + "/etc/a", "a3");
    REQUIRE(recover(h.ctx, j));
    CHECK(slurp(h.root.path + "/etc/a") == "a2");
    // Back to generation 1 (what fjordctl rollback does): b comes back from the store.
    DesiredState back;
    for (const auto &[p, af] : g1.files) back.files.emplace(p, af.spec);
    REQUIRE(h.apply(back));
    CHECK(snapshot(h.root.path) == before);
    // Drift corrected from the store.
    spit(h.root.path + "/etc/b", "edited by hand");
    auto cur = *h.store.load(*h.store.current());
    REQUIRE(restore_paths(h.ctx, cur, {"/etc/b"}));
    CHECK(slurp(h.root.path + "/etc/b") == "b1");
    // A damaged object: refused, naming it, with nothing half written.
    auto id = cur.files.at("/etc/b").spec.id;
    spit(h.state.path + "/s/objects/" + id.substr(0, 2) + "/" + id.substr(2), "garbage");
    spit(h.root.path + "/etc/b", "edited again");
    auto r = restore_paths(h.ctx, cur, {"/etc/b"});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("damaged") != std::string::npos);
    CHECK(slurp(h.root.path + "/etc/b") == "edited again");
    // ...and no journal is left to stop the next start: retrying cannot bring the content back.
    CHECK_FALSE(*h.store.journal());
}

TEST_CASE("recovery without the pending generation's record leaves what it cannot account for") {
    Host h;
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1")})));
    auto prev = *h.store.load(1);
    auto plan = *make_plan(prev, state_of({h.spec("/etc/a", "a2"), h.spec("/etc/new", "n")}), h.fs, {});
    plan.next.info.number = 2;
    REQUIRE(h.store.save(plan.next));
    Journal j{1, 2, "apply", {"/etc/a", "/etc/new"}};
    REQUIRE(h.store.write_journal(j));
    spit(h.root.path + "/etc/a", "a2");
    spit(h.root.path + "/etc/new", "n");
    // Killed while writing /etc/new again: its temp file is fjord's, whatever the record says.
    spit(h.root.path + "/etc/" + RootedFs::temp_name("new"), "half");
    spit(h.state.path + "/s/generations/2/files", "damaged");
    spit(h.state.path + "/s/generations/2/files.copy", "damaged too");
    std::vector<std::string> left;
    REQUIRE(recover(h.ctx, j, true, &left));
    CHECK(slurp(h.root.path + "/etc/a") == "a1");
    CHECK(slurp(h.root.path + "/etc/new") == "n"); // maybe adopted: never deleted blindly
    CHECK(left == std::vector<std::string>{"/etc/new"});
    CHECK_FALSE(std::filesystem::exists(h.root.path + "/etc/" + RootedFs::temp_name("new")));
}

TEST_CASE("a symlink planted on the host never leads a write outside the root") {
    Host h;
    TempDir outside;
    REQUIRE(::symlink(outside.path.c_str(), (h.root.path + "/etc").c_str()) == 0);
    auto r = h.apply(state_of({h.spec("/etc/passwd-like", "evil")}));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("/etc") != std::string::npos);
    CHECK(std::filesystem::is_empty(outside.path));
}

TEST_CASE("drift: detected by stat, confirmed by content, corrected") {
    Host h;
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1"), h.spec("/etc/b", "b1"), h.spec("/etc/c", "c1")})));
    auto gen = *h.store.load(1);
    StatCache cache;
    auto none = find_drift(h.fs, gen, cache);
    REQUIRE(none);
    CHECK(none->empty());
    CHECK(cache.size() == 3);

    spit(h.root.path + "/etc/a", "edited by hand");
    ::chmod((h.root.path + "/etc/b").c_str(), 0666);
    ::unlink((h.root.path + "/etc/c").c_str());
    auto ev = find_drift(h.fs, gen, cache);
    REQUIRE(ev);
    REQUIRE(ev->size() == 3);
    CHECK(ev->at(0).path == "/etc/a");
    CHECK(ev->at(0).what == "content changed");
    CHECK(ev->at(1).what == "mode 0666, want 0644");
    CHECK(ev->at(2).what == "missing");

    auto fixed = restore_paths(h.ctx, gen, {"/etc/a", "/etc/b", "/etc/c"});
    REQUIRE(fixed);
    CHECK(slurp(h.root.path + "/etc/a") == "a1");
    auto after = find_drift(h.fs, gen, cache);
    REQUIRE(after);
    CHECK(after->empty());
}

namespace {

// What a crash leaves: generation 2 and the journal of its way from generation 1 made durable,
// before any step ran. Returns the journal as recovery reads it back.
Journal crash_into(Host &h, const DesiredState &d) {
    auto prev = *h.store.load(1);
    auto plan = make_plan(prev, d, h.fs, {});
    REQUIRE(plan);
    plan->next.info.number = 2;
    REQUIRE(h.store.save(plan->next));
    Journal j{1, 2, "apply", {}};
    for (const auto &a : plan->actions) j.paths.push_back(a.path);
    REQUIRE(h.store.write_journal(j));
    auto jj = h.store.journal();
    REQUIRE(jj);
    REQUIRE(*jj);
    return **jj;
}

// A folder 20 levels below /srv, one of its names 250 bytes long: 19 folders fjord makes.
std::string deep_dir() {
    std::string dir = "/srv";
    for (int i = 1; i <= 19; ++i) dir += "/" + (i == 10 ? std::string(250, 'd') : "l" + std::to_string(i));
    return dir;
}

} // namespace

TEST_CASE("a failed apply of a new deep path with long names leaves no folder behind") {
    Host h;
    spit(h.root.path + "/etc/keep", "host file\n");
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1")})));
    auto before = snapshot(h.root.path);
    std::string file = deep_dir() + "/" + std::string(255, 'f');
    auto r = h.apply(state_of({h.spec("/etc/a", "a2"), h.spec(file, "deep"), h.spec("/srv/" + std::string(255, 's'), "long")}),
                     [] { return Status(fail(Errc::invalid, "health check x failed")); });
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "health check x failed");
    CHECK(snapshot(h.root.path) == before);
    CHECK_FALSE(*h.store.journal());
    CHECK(h.store.load_info(2)->outcome == Outcome::rolled_back);

    // And the same commit, healthy this time, applies and is pruned again without a trace.
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a2"), h.spec(file, "deep")})));
    CHECK(slurp(h.root.path + file) == "deep");
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1")})));
    CHECK(snapshot(h.root.path) == before);
}

TEST_CASE("recovery of a journal naming 255-byte names removes their temp files and folders") {
    Host h;
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1"), h.spec("/etc/" + std::string(255, 'b'), "b1")})));
    auto before = snapshot(h.root.path);
    std::string name(255, 'f'), dir = deep_dir();
    auto j = crash_into(h, state_of({h.spec("/etc/a", "a2"), h.spec("/etc/" + std::string(255, 'b'), "b2"),
                                     h.spec(dir + "/" + name, "deep")}));
    // Killed mid-write: the folders made, one file renamed into place, two temp files left
    // (one of the form older fjords used).
    spit(h.root.path + dir + "/" + name, "deep");
    spit(h.root.path + "/etc/" + RootedFs::temp_name(std::string(255, 'b')), "half");
    spit(h.root.path + "/etc/.a.fjord-tmp", "half");
    spit(h.root.path + "/etc/a", "a2");

    REQUIRE(recover(h.ctx, j));
    CHECK(snapshot(h.root.path) == before);
    CHECK_FALSE(*h.store.journal());
    CHECK(h.store.load_info(2)->outcome == Outcome::rolled_back);
}

TEST_CASE("recovery that cannot put one path back still removes the empty folders it made") {
    Host h;
    REQUIRE(h.apply(state_of({h.spec("/etc/a", "a1")})));
    std::string file = deep_dir() + "/f";
    auto j = crash_into(h, state_of({h.spec("/etc/a", "a2"), h.spec(file, "deep")}));
    spit(h.root.path + file, "deep");
    spit(h.root.path + "/etc/a", "a2");
    // Generation 1's content of /etc/a is lost from the object store and the Git cache alike.
    std::string a1 = blob_id("a1");
    std::filesystem::remove(h.state.path + "/s/objects/" + a1.substr(0, 2) + "/" + a1.substr(2));
    h.blobs.by_id.erase(a1);

    // Retrying cannot bring it back: the path keeps its whole file and is named, the rest is
    // recovered, the folders go, and the journal with them (a recovery that never ends would
    // stop every later apply).
    std::vector<std::string> left;
    REQUIRE(recover(h.ctx, j, true, &left));
    CHECK(left == std::vector<std::string>{"/etc/a"});
    CHECK(slurp(h.root.path + "/etc/a") == "a2");
    CHECK_FALSE(std::filesystem::exists(h.root.path + "/srv"));
    CHECK_FALSE(*h.store.journal());
}
