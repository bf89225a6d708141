#include "plan/plan.hpp"
#include "plan/containers.hpp"

#include <doctest/doctest.h>
#include <map>

using namespace fjord;

namespace {

struct FakeHost : HostProbe {
    std::map<std::string, LiveKind> live;
    Result<LiveKind> kind(const std::string &p) const override {
        auto it = live.find(p);
        return it == live.end() ? LiveKind::absent : it->second;
    }
};

FileSpec file(const std::string &path, const std::string &id, unsigned mode = 0644) {
    FileSpec s;
    s.path = path;
    s.id = id;
    s.mode = mode;
    return s;
}

DesiredState desired(std::initializer_list<FileSpec> files) {
    DesiredState d;
    for (const auto &f : files) d.files.emplace(f.path, f);
    return d;
}

std::vector<std::pair<ActionKind, std::string>> steps(const Plan &p) {
    std::vector<std::pair<ActionKind, std::string>> out;
    for (const auto &a : p.actions) out.emplace_back(a.kind, a.path);
    return out;
}

} // namespace

TEST_CASE("first apply creates folders and files, adopting what exists") {
    FakeHost host;
    host.live = {{"/etc", LiveKind::dir}, {"/etc/motd", LiveKind::file}};
    Generation prev;
    auto plan = make_plan(prev, desired({file("/etc/motd", "a"), file("/etc/app/app.conf", "b")}), host, {});
    REQUIRE(plan);
    using A = ActionKind;
    std::vector<std::pair<ActionKind, std::string>> want{
        {A::mkdir, "/etc/app"}, {A::write, "/etc/app/app.conf"}, {A::write, "/etc/motd"}};
    CHECK(steps(*plan) == want);
    CHECK(plan->actions[2].adopt);
    CHECK_FALSE(plan->actions[1].adopt);
    CHECK(plan->next.dirs == std::set<std::string>{"/etc/app"});
    CHECK(plan->deletions == 0);
    CHECK(plan->writes == 2);
}

TEST_CASE("unchanged paths cost nothing; changed ones are written; dropped ones removed or restored") {
    FakeHost host;
    Generation prev;
    prev.info.number = 4;
    prev.files.insert_or_assign("/a", {file("/a", "1"), {}});
    prev.files.insert_or_assign("/b", {file("/b", "2"), {}});
    Original orig;
    orig.existed = true;
    orig.id = "9";
    prev.files.insert_or_assign("/c", {file("/c", "3"), orig});
    prev.files.insert_or_assign("/d", {file("/d", "4"), {}});
    auto plan = make_plan(prev, desired({file("/a", "1"), file("/b", "2", 0600)}), host, {});
    REQUIRE(plan);
    using A = ActionKind;
    std::vector<std::pair<ActionKind, std::string>> want{{A::restore, "/c"}, {A::remove, "/d"}, {A::write, "/b"}};
    CHECK(steps(*plan) == want);
    CHECK(plan->deletions == 1);
    CHECK(plan->restores == 1);
    CHECK(plan->next.files.size() == 2);

    auto keep = make_plan(prev, desired({file("/a", "1"), file("/b", "2", 0600)}), host, PlanOptions{false, {}, {}, nullptr});
    REQUIRE(keep);
    // prune off: fjord's own files stay (unmanaged), but an adopted file still gets its original.
    std::vector<std::pair<ActionKind, std::string>> kept{{A::restore, "/c"}, {A::write, "/b"}};
    CHECK(steps(*keep) == kept);
    CHECK(keep->deletions == 0);
}

TEST_CASE("the plan text escapes control characters of file names") {
    // A repo file named "\e[31mred" (or with CR, DEL, a C0 byte) must not reach a terminal raw
    // through `fjordctl diff` or `sync`.
    FakeHost host;
    host.live = {{"/etc", LiveKind::dir}};
    Generation prev;
    prev.files.insert_or_assign("/etc/gone\x7f", {file("/etc/gone\x7f", "1"), {}});
    auto plan = make_plan(prev, desired({file("/etc/\x1b[31mred", "a"), file("/etc/d\x01r/a\rb", "b")}), host, {});
    REQUIRE(plan);
    std::string text = describe(*plan, prev);
    CHECK(text == "- /etc/gone\\x7f\n+ /etc/d\\x01r/\n+ /etc/\\x1b[31mred\n+ /etc/d\\x01r/a\\rb\n");
    for (char c : text) CHECK((c == '\n' || (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f)));
}

TEST_CASE("originals travel with later generations") {
    FakeHost host;
    Generation prev;
    Original orig;
    orig.existed = true;
    orig.id = "abc";
    prev.files.insert_or_assign("/etc/motd", {file("/etc/motd", "1"), orig});
    auto plan = make_plan(prev, desired({file("/etc/motd", "2")}), host, {});
    REQUIRE(plan);
    CHECK(plan->next.files.at("/etc/motd").orig == orig);
    CHECK_FALSE(plan->actions.at(0).adopt);
}

TEST_CASE("folders fjord made are removed when nothing needs them") {
    FakeHost host;
    Generation prev;
    prev.files.insert_or_assign("/opt/x/y/f", {file("/opt/x/y/f", "1"), {}});
    prev.dirs = {"/opt/x", "/opt/x/y"};
    auto plan = make_plan(prev, desired({}), host, {});
    REQUIRE(plan);
    using A = ActionKind;
    std::vector<std::pair<ActionKind, std::string>> want{{A::remove, "/opt/x/y/f"}, {A::rmdir, "/opt/x/y"}, {A::rmdir, "/opt/x"}};
    CHECK(steps(*plan) == want);
    CHECK(plan->next.dirs.empty());
}

TEST_CASE("a folder or device on the host is never replaced") {
    FakeHost host;
    host.live = {{"/srv", LiveKind::dir}, {"/srv/data", LiveKind::dir}, {"/dev", LiveKind::dir}, {"/dev/sda", LiveKind::other}};
    auto a = make_plan(Generation{}, desired({file("/srv/data", "1")}), host, {});
    REQUIRE_FALSE(a);
    CHECK(a.error().message.find("/srv/data: is a folder on the host") == 0);
    auto b = make_plan(Generation{}, desired({file("/dev/sda", "1")}), host, {});
    REQUIRE_FALSE(b);
    CHECK(b.error().message.find("/dev/sda") == 0);
    host.live["/lnk"] = LiveKind::symlink;
    auto c = make_plan(Generation{}, desired({file("/lnk/x", "1")}), host, {});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("/lnk: is not a folder") == 0);
}

TEST_CASE("generation files round-trip, with awkward paths") {
    Generation g;
    g.info.number = 3;
    FileSpec s = file("/etc/with space/a,b%c", "0123456789012345678901234567890123456789", 0640);
    s.owner = "www-data";
    s.origin = "hosts/web1/files/etc/with space/a,b%c";
    Original o;
    o.existed = true;
    o.id = "abababababababababababababababababababab";
    o.mode = 0600;
    o.uid = 33;
    g.files.insert_or_assign(s.path, {s, o});
    FileSpec l;
    l.path = "/etc/link";
    l.kind = FileKind::symlink;
    l.target = "../x y";
    l.mode = 0777;
    Original lo;
    lo.existed = true;
    lo.kind = FileKind::symlink;
    lo.target = "old target";
    g.files.insert_or_assign(l.path, {l, lo});
    g.dirs = {"/etc/with space"};
    Generation back;
    REQUIRE(parse_files(serialize_files(g), back, "x"));
    CHECK(back.dirs == g.dirs);
    REQUIRE(back.files.size() == 2);
    CHECK(same_on_host(back.files.at(s.path).spec, s));
    CHECK(back.files.at(s.path).spec.origin == s.origin);
    CHECK(back.files.at(s.path).orig == o);
    CHECK(same_on_host(back.files.at(l.path).spec, l));
    CHECK(back.files.at(l.path).orig == lo);
    CHECK_FALSE(parse_files("fjord-files 1\nf /x\n", back, "x"));

    GenerationInfo info{7, "abc", 1700000000, Outcome::rolled_back, "health check web failed", "+2 ~1 -0, 1 unit"};
    auto i2 = parse_info(serialize_info(info), "x");
    REQUIRE(i2);
    CHECK(i2->number == 7);
    CHECK(i2->outcome == Outcome::rolled_back);
    CHECK(i2->message == info.message);
    CHECK(i2->changes == "+2 ~1 -0, 1 unit");
    // A header written before the summary was kept reads with none.
    auto old = parse_info("number 3\ncommit abc\ntime 1\noutcome good\nmessage \n", "x");
    REQUIRE(old);
    CHECK(old->changes.empty());
}

TEST_CASE("a generation file parsed in pieces (chunks) reads as the whole text, errors on the same line") {
    Generation g;
    for (int i = 0; i < 40; ++i) {
        FileSpec f = file("/etc/f" + std::to_string(i), "0123456789012345678901234567890123456789", 0644);
        g.files.insert_or_assign(f.path, {f, {}});
    }
    g.dirs = {"/etc"};
    std::string text = serialize_files(g);
    // Cut after the header line and at several line ends, as chunks are; the header piece has no '\n'.
    auto nl = text.find('\n');
    std::vector<std::string_view> parts{std::string_view(text).substr(0, nl)};
    std::string_view rest = std::string_view(text).substr(nl + 1);
    for (std::size_t cut : {3u, 10u, 1u}) {
        std::size_t end = 0;
        for (std::size_t k = 0; k < cut; ++k) end = rest.find('\n', end) + 1;
        parts.push_back(rest.substr(0, end));
        rest.remove_prefix(end);
    }
    parts.push_back(rest);
    Generation whole, pieced;
    REQUIRE(parse_files(text, whole, "x"));
    REQUIRE(parse_files(parts, pieced, "x"));
    CHECK(serialize_files(pieced) == text);
    CHECK(pieced.files.size() == 40);
    // Without keeping paths: checked the same, nothing kept.
    Generation none;
    REQUIRE(parse_files(parts, none, "x", false));
    CHECK(none.files.empty());
    CHECK(none.dirs.empty());
    // A malformed line in the third piece is named by its line in the whole text.
    std::string bad = std::string(parts[2]);
    bad.insert(bad.find('\n') + 1, "f /broken\n");
    auto bad_parts = parts;
    bad_parts[2] = bad;
    auto r = parse_files(bad_parts, pieced, "x");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "x:6: malformed entry"); // header, 3 lines, 1 line of piece 2, then it
    CHECK_FALSE(parse_files(bad_parts, none, "x", false));
    std::string joined;
    for (auto p : bad_parts) joined += std::string(p) + (p.ends_with('\n') ? "" : "\n");
    auto r2 = parse_files(joined, whole, "x");
    REQUIRE_FALSE(r2);
    CHECK(r2.error().message == r.error().message);
}

TEST_CASE("protected paths are refused by the plan too (a rollback replays old generations)") {
    FakeHost host;
    PlanOptions o;
    o.protect = {"/etc/fjord", "/boot"};
    auto r = make_plan(Generation{}, desired({file("/etc/fjord/fjord.toml", "1")}), host, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "/etc/fjord/fjord.toml: under apply.protect entry /etc/fjord; fjord never changes it");
    CHECK(make_plan(Generation{}, desired({file("/etc/fjordx", "1"), file("/bootloader", "2")}), host, o));
}

TEST_CASE("container specs: the generation's JSON round-trips; the identity leaves out origin and update") {
    ContainerSpec s;
    s.name = "web";
    s.image = "127.0.0.1:5000/demo/bb:1.2.1";
    s.command = {"httpd", "-f"};
    s.ports = {PortSpec{"127.0.0.1", 8080, 80, "tcp"}};
    s.volumes = {VolumeSpec{"/srv/www", "/www", true}};
    s.healthcheck = ContainerHealthSpec{{"true"}, 1'000, 2'000, 3};
    s.update = "glob:1.2.*";
    s.origin = "hosts/web1/containers/web.toml";
    auto back = container_spec_from_json(container_spec_json(s));
    REQUIRE(back);
    CHECK(*back == s);
    ContainerSpec moved = s;
    moved.origin = "hosts/web1/fjord.toml:3:1";
    moved.update = "";
    CHECK(same_container(s, moved));
    moved.ports[0].host_port = 8081;
    CHECK_FALSE(same_container(s, moved));
    CHECK_FALSE(container_spec_from_json(R"({"name":"web"})"));
}

TEST_CASE("generations keep checks, hooks and whole unit specs; a format 1 file says it has none") {
    Generation g;
    g.info.number = 4;
    CheckSpec c;
    c.name = "web";
    c.http = "http://127.0.0.1:8080/";
    c.expect_body = "ok, with spaces and \n a line break";
    g.checks = {c};
    HookSpec h;
    h.when = "post-apply";
    h.exec = {"/bin/echo", "a b"};
    g.hooks = {h};
    UnitSpec u;
    u.name = "web.service";
    u.id = "0123456789012345678901234567890123456789";
    u.pre_restart = {"nginx", "-t"};
    u.memory = "256Mi";
    u.watch = {"/etc/nginx/**"};
    g.units[u.name] = u;
    Generation back;
    REQUIRE(parse_files(serialize_files(g), back, "x"));
    CHECK(back.checks_kept);
    CHECK(back.checks == g.checks);
    CHECK(back.hooks == g.hooks);
    CHECK(back.units == g.units);
    // Written by an older fjord: units from u lines, and nothing known of its checks.
    Generation old;
    REQUIRE(parse_files("fjord-files 1\nu web.service 1 started restart -\n", old, "x"));
    CHECK_FALSE(old.checks_kept);
    CHECK(old.units.at("web.service").state == "started");
    // A damaged record is refused, never half read.
    CHECK_FALSE(parse_files("fjord-files 2\nk {\"name\":1}\n", back, "x"));
    CHECK_FALSE(parse_files("fjord-files 2\nk notjson\n", back, "x"));
}

TEST_CASE("a change of checks or hooks alone makes a generation (it keeps them)") {
    FakeHost host;
    host.live["/etc"] = LiveKind::dir;
    Generation prev;
    prev.info.number = 1;
    prev.files.insert_or_assign("/etc/a", AppliedFile{file("/etc/a", "1"), {}});
    DesiredState d = desired({file("/etc/a", "1")});
    auto same = make_plan(prev, d, host, {});
    REQUIRE(same);
    CHECK(same->empty());
    CheckSpec c;
    c.name = "tcp";
    c.tcp = "127.0.0.1:22";
    d.checks = {c};
    auto changed = make_plan(prev, d, host, {});
    REQUIRE(changed);
    CHECK_FALSE(changed->empty());
    CHECK(changed->next.checks == d.checks);
    // Not for a generation from before checks were kept: no generation a poll after an upgrade.
    prev.checks_kept = false;
    CHECK(make_plan(prev, d, host, {})->empty());
}

TEST_CASE("fjord's own paths are refused by the plan, whatever apply.protect says") {
    FakeHost host;
    PlanOptions o;
    o.own = {"/var/lib/fjord"};
    auto r = make_plan(Generation{}, desired({file("/var/lib/fjord/current", "1")}), host, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::refused);
    CHECK(r.error().message.find("fjord's own /var/lib/fjord") != std::string::npos);
    // A file where fjord's folder is would replace it.
    CHECK_FALSE(make_plan(Generation{}, desired({file("/var/lib", "1")}), host, o));
    CHECK(make_plan(Generation{}, desired({file("/var/lib/fjordx", "1")}), host, o));
}
