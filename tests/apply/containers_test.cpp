// The container side of a transaction against a fake podman: pinning by digest, replacement
// order, ownership, rollback and recovery by digest after a tag moved, and clean refusals.
#include "apply/containers.hpp"
#include "apply/transaction.hpp"
#include "support/fake_podman.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::test;

namespace {

const std::string reg = "127.0.0.1:5000/demo/bb";

ContainerSpec web(const std::string &tag = "1", std::vector<std::string> cmd = {"httpd", "-f"}) {
    ContainerSpec s;
    s.name = "web";
    s.image = reg + ":" + tag;
    s.command = std::move(cmd);
    s.ports = {PortSpec{"127.0.0.1", 8080, 80, "tcp"}};
    s.origin = "hosts/h/containers/web.toml";
    return s;
}

struct Host : ApplyHost {
    FakePodman podman;
    Host() {
        ctx.podman = &podman;
        podman.registry[reg + ":1"] = "sha256:aaaa";
        podman.registry[reg + ":2"] = "sha256:bbbb";
    }
};

DesiredState with(std::initializer_list<ContainerSpec> cs) {
    DesiredState d;
    for (const auto &c : cs) d.containers.emplace(c.name, c);
    return d;
}

} // namespace

TEST_CASE("plan: create, replace, remove; an unchanged spec keeps its pinned image") {
    std::map<std::string, AppliedContainer> prev{{"web", {web(), reg + "@sha256:aaaa"}}, {"old", {web(), reg + "@sha256:aaaa"}}};
    prev["old"].spec.name = "old";
    ContainerSpec moved = web();
    moved.origin = "hosts/h/fjord.toml:3:1"; // moved into the manifest: the same container
    moved.update = "glob:1.*";               // a policy does not change the running container
    ContainerSpec db = web();
    db.name = "db";
    std::map<std::string, AppliedContainer> next;
    auto steps = plan_containers(prev, {{"web", moved}, {"db", db}}, nullptr, next);
    REQUIRE(steps.size() == 2);
    CHECK(steps[0] == ContainerStep{ContainerChange::remove, "old"});
    CHECK(steps[1] == ContainerStep{ContainerChange::create, "db"});
    CHECK(next.at("web").image == reg + "@sha256:aaaa");
    CHECK(next.at("db").image.empty()); // pulled at apply

    steps = plan_containers(prev, {{"web", web("1", {"sleep", "9"})}, {"old", prev["old"].spec}}, nullptr, next);
    REQUIRE(steps.size() == 1);
    CHECK(steps[0] == ContainerStep{ContainerChange::replace, "web"});
    CHECK(describe(steps[0], prev, next) == "container web: replace " + reg + ":1 (spec changed)");

    // A rollback pins the older generation's image where the spec matches.
    std::map<std::string, AppliedContainer> pins{{"web", {web("1", {"sleep", "9"}), reg + "@sha256:cccc"}}};
    steps = plan_containers(prev, {{"web", web("1", {"sleep", "9"})}}, &pins, next);
    CHECK(next.at("web").image == reg + "@sha256:cccc");
}

TEST_CASE("generation files keep containers (spec and pinned image); files without them still load") {
    Generation g;
    g.info.number = 3;
    ContainerSpec s = web();
    s.env = {{"MODE", "prod, fast"}};
    s.volumes = {VolumeSpec{"/srv/www", "/www", true}};
    s.healthcheck = ContainerHealthSpec{{"wget", "-q", "http://127.0.0.1/"}, 5'000, 1'000, 2};
    s.memory = 64u << 20;
    s.cpus_milli = 500;
    s.labels = {{"team", "web ops"}};
    g.containers["web"] = {s, reg + "@sha256:aaaa"};
    Generation back;
    REQUIRE(parse_files(serialize_files(g), back, "gen"));
    REQUIRE(back.containers.count("web"));
    CHECK(back.containers.at("web") == g.containers.at("web"));
    Generation old;
    REQUIRE(parse_files("fjord-files 1\nd /etc\nu a.service 1 started restart -\n", old, "gen"));
    CHECK(old.containers.empty());
    Generation broken;
    auto r = parse_files("fjord-files 1\nc web x %7B%22name%22%3A1%7D\n", broken, "gen");
    REQUIRE(!r);
    CHECK(r.error().message.find("gen:2: container spec:") == 0);
}

TEST_CASE("apply pulls, pins by digest, creates with fjord's labels and starts; unchanged is left alone") {
    Host h;
    std::string text;
    auto r = h.apply(with({web()}), {}, &text);
    REQUIRE(r);
    CHECK(text == "container web: create " + reg + ":1\n");
    REQUIRE(h.podman.boxes.count("web"));
    const auto &box = h.podman.boxes.at("web");
    CHECK(box.running);
    CHECK(box.image == reg + "@sha256:aaaa");
    CHECK(box.labels.at("io.fjord.managed-by") == "fjord");
    CHECK(box.labels.at("io.fjord.spec") == container_hash({web(), reg + "@sha256:aaaa"}));
    CHECK(h.podman.log == std::vector<std::string>{"pull " + reg + ":1", "create web-fjord-new " + reg + "@sha256:aaaa",
                                                   "rename web-fjord-new web", "start web"});
    auto g = h.store.load(1);
    CHECK(g->containers.at("web").image == reg + "@sha256:aaaa");

    // The same spec again: nothing to do, podman not even asked.
    h.podman.log.clear();
    h.podman.down = true;
    auto again = h.apply(with({web()}));
    REQUIRE(again);
    CHECK(again->generation == 2);
    CHECK(h.podman.log.empty());
}

TEST_CASE("a spec change replaces: create new, stop old, start new") {
    Host h;
    REQUIRE(h.apply(with({web()})));
    h.podman.log.clear();
    REQUIRE(h.apply(with({web("2")})));
    CHECK(h.podman.log == std::vector<std::string>{"pull " + reg + ":2", "create web-fjord-new " + reg + "@sha256:bbbb",
                                                   "stop web", "remove web", "rename web-fjord-new web", "start web"});
    CHECK(h.podman.boxes.at("web").image == reg + "@sha256:bbbb");
    CHECK(h.podman.boxes.size() == 1);
}

TEST_CASE("a removed spec stops and removes its container; a foreign container is never touched") {
    Host h;
    ContainerSpec db = web();
    db.name = "db";
    REQUIRE(h.apply(with({web(), db})));
    h.podman.foreign("cache");
    h.podman.log.clear();
    std::string text;
    REQUIRE(h.apply(with({web()}), {}, &text));
    CHECK(text == "container db: remove " + reg + "@sha256:aaaa\n");
    CHECK(h.podman.log == std::vector<std::string>{"stop db", "remove db"});
    CHECK(h.podman.boxes.count("cache"));
    CHECK(!h.podman.boxes.count("db"));
}

TEST_CASE("a name held by a container fjord did not make is refused before anything changes") {
    Host h;
    h.podman.foreign("web");
    FileSpec f;
    f.path = "/etc/x";
    f.id = h.blobs.add("x\n");
    DesiredState d = with({web()});
    d.files.emplace(f.path, f);
    auto r = h.apply(d);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::refused);
    CHECK(r.error().message.find("container web: a container of that name exists and was not made by fjord") == 0);
    CHECK(h.podman.boxes.at("web").labels.count("io.fjord.managed-by") == 0);
    CHECK(h.podman.boxes.at("web").running);
    CHECK(*h.store.current() == 0);
    CHECK(!*h.store.journal());
    CHECK(!std::filesystem::exists(h.root.path + "/etc/x"));
}

TEST_CASE("a failed pull or a missing socket changes nothing, files included; errors name the container") {
    Host h;
    FileSpec f;
    f.path = "/etc/x";
    f.id = h.blobs.add("x\n");
    DesiredState d = with({web("9")});
    d.files.emplace(f.path, f);
    auto r = h.apply(d);
    REQUIRE(!r);
    CHECK(r.error().message == "container web (hosts/h/containers/web.toml): pull " + reg + ":9: manifest unknown");
    CHECK(!std::filesystem::exists(h.root.path + "/etc/x"));
    CHECK(*h.store.current() == 0);
    CHECK(h.store.history()->empty());

    h.podman.down = true;
    r = h.apply(with({web()}));
    REQUIRE(!r);
    CHECK(r.error().message.find("podman socket /run/podman/podman.sock: cannot connect") != std::string::npos);
    CHECK(h.podman.boxes.empty());
}

TEST_CASE("failed checks roll back to the previous container by digest, even after the tag moved") {
    Host h;
    REQUIRE(h.apply(with({web()})));
    h.podman.registry[reg + ":1"] = "sha256:dddd"; // the tag moves in the registry
    auto r = h.apply(with({web("1", {"sleep", "1"})}), [] { return Status(fail(Errc::invalid, "check web: down")); });
    REQUIRE(!r);
    CHECK(r.error().message == "check web: down");
    const auto &box = h.podman.boxes.at("web");
    CHECK(box.image == reg + "@sha256:aaaa");
    CHECK(box.spec.command == std::vector<std::string>{"httpd", "-f"});
    CHECK(box.running);
    CHECK(box.labels.at("io.fjord.spec") == container_hash({web(), reg + "@sha256:aaaa"}));
    CHECK(h.podman.boxes.size() == 1);
    CHECK(h.store.load_info(2)->outcome == Outcome::rolled_back);
    CHECK(h.store.load(2)->containers.at("web").image == reg + "@sha256:dddd");
    CHECK(*h.store.current() == 1);
}

TEST_CASE("recovery after a crash converges the previous generation's containers, pulling by digest if needed") {
    Host h;
    ContainerSpec db = web();
    db.name = "db";
    REQUIRE(h.apply(with({web()})));
    // Simulate a crash mid-transaction: generation 2 (web on :2, db new) partly applied.
    auto prev = *h.store.load(1);
    auto plan = make_plan(prev, with({web("2"), db}), h.fs, {});
    REQUIRE(plan);
    plan->next.info.number = 2;
    REQUIRE(prepare_containers(h.podman, plan->next.containers));
    REQUIRE(h.store.save(plan->next));
    REQUIRE(h.store.write_journal(Journal{1, 2, "apply", {}}));
    h.podman.failing.insert("start web"); // "crash" after web was replaced, before it started
    (void)converge_containers(h.podman, plan->next.containers, prev.containers);
    h.podman.failing.clear();
    REQUIRE(h.podman.boxes.count("db"));
    h.podman.images.clear(); // and the old image was pruned meanwhile: recovery pulls it by digest
    auto j = h.store.journal();
    REQUIRE(*j);
    REQUIRE(recover(h.ctx, **j));
    CHECK(!h.podman.boxes.count("db"));
    CHECK(h.podman.boxes.at("web").image == reg + "@sha256:aaaa");
    CHECK(h.podman.boxes.at("web").running);
    CHECK(std::find(h.podman.log.begin(), h.podman.log.end(), "pull " + reg + "@sha256:aaaa") != h.podman.log.end());
    CHECK(!*h.store.journal());
    CHECK(h.store.load_info(2)->outcome == Outcome::rolled_back);
}

TEST_CASE("recovery with podman gone keeps the journal, to retry at the next start") {
    Host h;
    REQUIRE(h.apply(with({web()})));
    auto prev = *h.store.load(1);
    auto plan = make_plan(prev, with({web("2")}), h.fs, {});
    plan->next.info.number = 2;
    REQUIRE(prepare_containers(h.podman, plan->next.containers));
    REQUIRE(h.store.save(plan->next));
    REQUIRE(h.store.write_journal(Journal{1, 2, "apply", {}}));
    REQUIRE(converge_containers(h.podman, plan->next.containers, prev.containers));
    h.podman.down = true;
    auto r = recover(h.ctx, **h.store.journal());
    REQUIRE(!r);
    CHECK(r.error().message.find("recover containers (the journal is kept") == 0);
    CHECK(*h.store.journal());
    h.podman.down = false;
    REQUIRE(recover(h.ctx, **h.store.journal()));
    CHECK(h.podman.boxes.at("web").image == reg + "@sha256:aaaa");
}

TEST_CASE("resolve_image: one digest of the repo, or the one the registry still serves") {
    FakePodman p;
    p.registry[reg + ":1"] = "sha256:aaaa";
    CHECK(resolve_image(p, reg + ":1").value() == reg + "@sha256:aaaa");
    // An image pushed from this host also carries its local manifest's digest: the registry's
    // is the one a pull by digest finds.
    p.local_digests[reg + ":1"] = reg + "@sha256:0000";
    p.log.clear();
    CHECK(resolve_image(p, reg + ":1").value() == reg + "@sha256:aaaa");
    CHECK(p.log == std::vector<std::string>{"pull " + reg + ":1", "pull " + reg + "@sha256:0000", "pull " + reg + "@sha256:aaaa"});
    auto local = resolve_image(p, "localhost/bb:latest");
    REQUIRE(!local);
    CHECK(local.error().message == "image localhost/bb:latest not found on this host (localhost/ images are not pulled)");
    p.images["localhost/bb:latest"] = PodmanImage{"abc123", {}};
    CHECK(resolve_image(p, "localhost/bb:latest").value() == "abc123");
    CHECK(resolve_image(p, "docker.io/x/y:1").error().message == "pull docker.io/x/y:1: manifest unknown");
}

TEST_CASE("a volume's host path is below apply.root when podman gets it, as files are") {
    Host h;
    ContainerSpec s = web();
    s.volumes = {VolumeSpec{"/srv/data", "/data", true}, VolumeSpec{"/", "/host", true}};
    REQUIRE(h.apply(with({s})));
    REQUIRE(h.podman.sources.count("web-fjord-new"));
    CHECK(h.podman.sources.at("web-fjord-new") == std::vector<std::string>{h.root.path + "/srv/data", h.root.path});
    CHECK(volume_source("/", "/srv/data") == "/srv/data");
    CHECK(volume_source("/var/lib/t/", "/srv/data") == "/var/lib/t/srv/data");
    CHECK(volume_source("/var/lib/t", "/") == "/var/lib/t");
}
