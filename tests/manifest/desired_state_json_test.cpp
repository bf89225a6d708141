#include "manifest/desired_state_json.hpp"
#include "manifest/validate.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace fjord;

// A field added to one of these structs must be added to desired_state_json.cpp too, and to
// rich() below, so the round trip covers it: these sizes (x86_64, libstdc++) break the build
// when a field is added, as a reminder.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(FileSpec) == 272, "FileSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(UnitSpec) == 328, "UnitSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(HookSpec) == 64, "HookSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(CheckSpec) == 256, "CheckSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(ContainerSpec) == 400, "ContainerSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(PortSpec) == 72, "PortSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(VolumeSpec) == 72, "VolumeSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(ContainerHealthSpec) == 48, "ContainerHealthSpec changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(VarValue) == 112, "VarValue changed: update desired_state_json.cpp and rich()");
static_assert(sizeof(DesiredState) == 408, "DesiredState changed: update desired_state_json.cpp and rich()");
#endif

namespace {

const std::string id_a = "0123456789abcdef0123456789abcdef01234567";
const std::string id_b = "89abcdef0123456789abcdef0123456789abcdef";

/// A DesiredState with every field of every struct set to something other than its default.
DesiredState rich() {
    DesiredState d;
    d.commit = "fedcba9876543210fedcba9876543210fedcba98";
    FileSpec f;
    f.path = "/etc/app/app.env";
    f.kind = FileKind::file;
    f.id = id_a;
    f.mode = 0640;
    f.owner = "app";
    f.group = "1000";
    f.origin = "hosts/web1/files/etc/app/app.env.age";
    f.validate = {"/usr/bin/check", "%s"};
    f.secret = true;
    f.secret_mac = "mac-of-plaintext";
    d.files.emplace(f.path, f);
    FileSpec l;
    l.path = "/etc/app/link";
    l.kind = FileKind::symlink;
    l.target = "app.env";
    l.mode = 0777;
    l.origin = "hosts/web1/files/etc/app/link";
    d.files.emplace(l.path, l);
    std::string rendered("bytes \xff\xfe\0 not UTF-8\n", 22);
    FileSpec t;
    t.path = "/etc/\xe9t\xe9.conf"; // a Latin-1 name: any byte of a name survives
    t.id = blob_id(rendered);
    t.origin = "hosts/web1/files/etc/\xe9t\xe9.conf.tmpl";
    d.files.emplace(t.path, t);
    d.blobs.emplace(t.id, rendered);
    d.vars = {{"domain", VarValue::string("shop.example.no")},
              {"workers", VarValue::number("4")},
              {"tls", VarValue::boolean(true)},
              {"upstreams", VarValue::strings({"10.0.0.1", "10.0.0.2"})},
              {"db", VarValue::table({{"port", VarValue::number("5432")},
                                      {"hosts", VarValue::list({VarValue::table({{"name", VarValue::string("a")}})})}})}};
    UnitSpec u;
    u.name = "nginx.service";
    u.id = id_b;
    u.dropins = {{"10-x.conf", id_a}};
    u.origin = "hosts/web1/units/nginx.service";
    u.enable = false;
    u.state = "stopped";
    u.on_change = "reload";
    u.watch = {"/etc/nginx/**"};
    u.pre_restart = {"nginx", "-t"};
    u.memory = "256Mi";
    u.cpu = "50%";
    d.units.emplace(u.name, u);
    ContainerSpec cs;
    cs.name = "web";
    cs.image = "127.0.0.1:5000/demo/bb:1.2.1";
    cs.command = {"httpd", "-f", "-p", "80"};
    cs.env = {{"MODE", "prod"}};
    cs.ports = {PortSpec{"127.0.0.1", 8080, 80, "udp"}};
    cs.volumes = {VolumeSpec{"/srv/www", "/www", true}};
    cs.memory = 128 << 20;
    cs.cpus_milli = 500;
    cs.restart = "on-failure";
    cs.labels = {{"team", "web"}};
    cs.update = "glob:1.2.*";
    cs.healthcheck = ContainerHealthSpec{{"wget", "-q", "http://127.0.0.1/"}, 1'000, 2'000, 4};
    cs.origin = "hosts/web1/containers/web.toml";
    d.containers.emplace("web", cs);
    d.hooks.push_back(HookSpec{"post-apply", {"/usr/local/bin/notify"}, 12'345});
    CheckSpec c;
    c.name = "web";
    c.http = "http://127.0.0.1:8080/";
    c.tcp = "127.0.0.1:5432";
    c.unit = "nginx.service";
    c.container = "web";
    c.exec = {"/usr/bin/pg_isready"};
    c.expect_status = 204;
    c.expect_body = "ok";
    c.initial_delay_ms = 5;
    c.period_ms = 6;
    c.timeout_ms = 7;
    c.failure_threshold = 8;
    d.checks.push_back(c);
    d.includes = {"bundles/base", "hosts/web1"};
    d.partial = true;
    d.touched = {"/etc/gone", "/etc/nginx/nginx.conf"};
    return d;
}

RenderOptions opts() {
    RenderOptions o;
    o.protect = {"/boot", "/etc/fjord"};
    return o;
}

std::string invalid(const DesiredState &d) {
    auto s = validate_desired(d, opts(), d.commit);
    return s ? "(valid)" : s.error().message;
}

} // namespace

TEST_CASE("desired state: the wire form round-trips every field") {
    DesiredState d = rich();
    auto back = decode_desired(encode_desired(d));
    REQUIRE(back);
    CHECK(*back == d);
    // Each field matters to ==: a changed copy differs (the test can fail).
    DesiredState other = d;
    other.checks[0].failure_threshold = 9;
    CHECK(other != d);
    CHECK(decode_desired(encode_desired(DesiredState{})).value() == DesiredState{});
    CHECK(validate_desired(d, opts(), d.commit));
}

TEST_CASE("desired state: malformed wire forms are refused, not trusted") {
    CHECK(!decode_desired(""));
    CHECK(!decode_desired("garbage"));
    std::string wire = encode_desired(rich());
    CHECK(!decode_desired(std::string_view(wire).substr(0, wire.size() / 2)));
    // A missing key, a wrong type, an unknown kind.
    nlohmann::json j = rich();
    j.erase("includes");
    std::string cbor;
    nlohmann::json::to_cbor(j, nlohmann::detail::output_adapter<char>(cbor));
    CHECK(decode_desired(cbor).error().message.find("includes") != std::string::npos);
    j = rich();
    j["files"]["/etc/app/link"]["kind"] = "device";
    cbor.clear();
    nlohmann::json::to_cbor(j, nlohmann::detail::output_adapter<char>(cbor));
    CHECK(decode_desired(cbor).error().message == "desired state: unknown file kind device");
    j = rich();
    j["units"]["nginx.service"]["enable"] = "yes";
    cbor.clear();
    nlohmann::json::to_cbor(j, nlohmann::detail::output_adapter<char>(cbor));
    CHECK(!decode_desired(cbor));
    // Deep nesting stops at a fixed depth instead of recursing down the parent's stack.
    std::string deep(100'000, '\x81'); // CBOR: an array of one element, 100,000 times
    deep += '\x00';
    CHECK(decode_desired(deep).error().message.find("nested deeper") != std::string::npos);
}

TEST_CASE("desired state: fjordd validates what a render child sends") {
    auto with_file = [](const std::string &path, auto change) {
        DesiredState d = rich();
        FileSpec f = d.files.begin()->second;
        f.path = path;
        f.secret = false;
        f.secret_mac.clear();
        change(f);
        d.files[path] = f;
        return d;
    };
    auto same = [](FileSpec &) {};
    CHECK(invalid(with_file("/etc/../etc/shadow", same)) == "host path \"/etc/../etc/shadow\": not normalised");
    CHECK(invalid(with_file("etc/x", same)) == "host path \"etc/x\": not an absolute path below /");
    CHECK(invalid(with_file("/etc//x", same)) == "host path \"/etc//x\": not normalised");
    CHECK(invalid(with_file("/boot/vmlinuz", same)).find("is protected (apply.protect has /boot)") != std::string::npos);
    CHECK(invalid(with_file("/etc/x", [](FileSpec &f) { f.mode = 04755; })).find("setuid") != std::string::npos);
    CHECK(invalid(with_file("/etc/x", [](FileSpec &f) { f.id = "../../x"; })).find("not a 40-digit blob id") != std::string::npos);
    CHECK(invalid(with_file("/etc/x", [](FileSpec &f) { f.owner = "root:root"; })).find("bad owner") != std::string::npos);
    CHECK(invalid(with_file("/etc/x", [](FileSpec &f) {
              f.kind = FileKind::symlink;
              f.mode = 0777;
              f.validate.clear();
              f.target = "../../../etc/shadow";
          })).find("symlink escapes apply.root") != std::string::npos);
    CHECK(invalid(with_file("/etc/app/app.env/x", same)).find("needs /etc/app/app.env to be a folder") != std::string::npos);
    // Names the host cannot hold, with the repo path named (rich()'s origin for this file).
    CHECK(invalid(with_file("/etc/" + std::string(256, 'n'), same)) ==
          "hosts/web1/files/etc/app/app.env.age: a name of 256 bytes in its host path; a file or folder name on Linux is at most 255 bytes (NAME_MAX)");
    std::string path;
    for (int i = 0; i < 16; ++i) path += "/" + std::string(255, 'p');
    CHECK(invalid(with_file(path, same)).find("its host path is 4096 bytes; a host path is at most 4095 bytes") != std::string::npos);
    path.pop_back();
    CHECK(validate_desired(with_file(path, same), opts(), rich().commit));

    DesiredState d = rich();
    d.files.begin()->second.path = "/etc/other";
    CHECK(invalid(d).find("listed under another path") != std::string::npos);
    d = rich();
    d.blobs.begin()->second += "tampered";
    CHECK(invalid(d).find("its id is not the hash of its content") != std::string::npos);
    d = rich();
    d.units.begin()->second.state = "exploded";
    CHECK(invalid(d) == "unit nginx.service: state must be started or stopped");
    d = rich();
    d.hooks[0].when = "whenever";
    CHECK(invalid(d).find("when must be") != std::string::npos);
    d = rich();
    CHECK(validate_desired(d, opts(), id_a).error().message.find("is not " + id_a) != std::string::npos);
    RenderOptions few = opts();
    few.max_files = 1;
    CHECK(validate_desired(d, few, d.commit).error().message.find("more than apply.max_files") != std::string::npos);
}

TEST_CASE("desired state: fjordd re-checks every container field a render child sends") {
    auto with = [](auto change) {
        DesiredState d = rich();
        change(d.containers.at("web"));
        return invalid(d);
    };
    CHECK(with([](ContainerSpec &) {}) == "(valid)");
    CHECK(with([](ContainerSpec &c) { c.volumes[0].host = "/srv/../etc"; }) ==
          "container web: volumes: host path is not absolute and normalised (no \"..\")");
    CHECK(with([](ContainerSpec &c) { c.volumes[0].host = "srv"; }).find("host path is not absolute") != std::string::npos);
    CHECK(with([](ContainerSpec &c) { c.volumes[0].container = "/www/../../x"; }).find("container path") != std::string::npos);
    // apply.protect (/boot, /etc/fjord): under, equal, above, and "/" which holds everything.
    CHECK(with([](ContainerSpec &c) { c.volumes[0].host = "/etc/fjord/keys"; }) ==
          "hosts/web1/containers/web.toml: container.web: volumes: \"/etc/fjord/keys:/www\": /etc/fjord/keys is protected by "
          "/etc/fjord (apply.protect)");
    CHECK(with([](ContainerSpec &c) { c.volumes[0].host = "/boot"; }).find("/boot is protected by /boot") != std::string::npos);
    CHECK(with([](ContainerSpec &c) { c.volumes[0].host = "/etc"; }).find("/etc contains the protected /etc/fjord") != std::string::npos);
    CHECK(with([](ContainerSpec &c) { c.volumes[0].host = "/"; }).find("/ is protected by /boot") != std::string::npos);
    CHECK(with([](ContainerSpec &c) { c.volumes[0].host = "/etc/fjordish"; }) == "(valid)");
    CHECK(with([](ContainerSpec &c) { c.ports[0].host_port = 0; }) == "container web: ports: a port must be from 1 to 65535");
    CHECK(with([](ContainerSpec &c) { c.ports[0].protocol = "sctp"; }) == "container web: ports: the protocol must be tcp or udp");
    CHECK(with([](ContainerSpec &c) { c.ports[0].host_ip = "0.0.0.0 -v"; }).find("not an IP address") != std::string::npos);
    CHECK(with([](ContainerSpec &c) { c.restart = "sometimes"; }).find("container web: restart:") == 0);
    CHECK(with([](ContainerSpec &c) { c.labels["io.fjord.spec"] = "forged"; }) == "container web: labels: io.fjord.* labels are fjord's own");
    CHECK(with([](ContainerSpec &c) { c.env["A=B"] = "x"; }) == "container web: env: not an environment variable name");
    CHECK(with([](ContainerSpec &c) { c.image = "--privileged"; }) == "container web: image: not an image reference");
    CHECK(with([](ContainerSpec &c) { c.image = "bb:1\n2"; }) == "container web: image: not an image reference");
    CHECK(with([](ContainerSpec &c) { c.command = {"sh", std::string("a\0b", 3)}; }) ==
          "container web: command: an argument has control characters or NUL");
    CHECK(with([](ContainerSpec &c) { c.command = std::vector<std::string>(5000, "x"); }) ==
          "container web: command: more than 4096 arguments");
    CHECK(with([](ContainerSpec &c) { c.healthcheck->command = {std::string(300 << 10, 'x')}; }) ==
          "container web: healthcheck.command: longer than 256 KiB");
    CHECK(with([](ContainerSpec &c) { c.healthcheck->retries = 0; }).find("container web: healthcheck:") == 0);
}
