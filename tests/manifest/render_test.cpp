// Rendering is pure logic over a TreeView, so these tests use an in-memory tree; the real
// Git and on-disk trees are tested in tests/source/. What render refuses, case by case, is the
// table in render_table_test.cpp.
#include "manifest/manifest_toml.hpp"
#include "render_support.hpp"

using namespace fjord;
using namespace fjord::test;

TEST_CASE("files/ mirrors onto the host with default modes, reading no file content") {
    FakeTree t;
    t.file("hosts/web1/files/etc/nginx/nginx.conf", "worker_processes 1;\n")
        .file("hosts/web1/files/usr/local/bin/tool", "#!/bin/sh\n", true)
        .file("hosts/web1/README.md", "ignored");
    auto ds = ok(t);
    CHECK(ds.commit == "c0ffee");
    CHECK(ds.includes == std::vector<std::string>{"hosts/web1"});
    REQUIRE(ds.files.size() == 2);
    const FileSpec &f = ds.files.at("/etc/nginx/nginx.conf");
    CHECK(f.kind == FileKind::file);
    CHECK(f.id == blob_id("worker_processes 1;\n"));
    CHECK(f.mode == 0644);
    CHECK(f.owner == "root");
    CHECK(f.group == "root");
    CHECK(f.origin == "hosts/web1/files/etc/nginx/nginx.conf");
    CHECK(ds.files.at("/usr/local/bin/tool").mode == 0755);
    CHECK(t.reads.empty());
    CHECK(ds.blobs.empty());
}

TEST_CASE("the repo root is a host folder too") {
    FakeTree t;
    t.file("files/etc/motd", "hi\n");
    RenderOptions o = web1();
    o.host_path = ".";
    auto ds = ok(t, o);
    CHECK(ds.includes == std::vector<std::string>{"."});
    CHECK(ds.files.at("/etc/motd").origin == "files/etc/motd");
}

TEST_CASE("[file] sets mode, owner, group and validate") {
    FakeTree t;
    std::string manifest = "[file.\"/etc/app/app.env\"]\nmode = \"0640\"\nowner = \"app\"\ngroup = \"app\"\n"
                           "validate = [\"check\", \"%s\"]\n";
    t.file("hosts/web1/files/etc/app/app.env", "K=V\n").file("hosts/web1/fjord.toml", manifest);
    auto ds = ok(t);
    const FileSpec &f = ds.files.at("/etc/app/app.env");
    CHECK(f.mode == 0640);
    CHECK(f.owner == "app");
    CHECK(f.group == "app");
    CHECK(f.validate == std::vector<std::string>{"check", "%s"});
    CHECK(t.reads == std::set<std::string>{blob_id(manifest)});
}

TEST_CASE("includes merge in order, the host last and winning, files and vars") {
    FakeTree t;
    t.file("bundles/base/fjord.toml", "[vars]\ndomain = \"base.example\"\nworkers = 2\n[vars.db]\nport = 5432\n")
        .file("bundles/base/files/etc/a", "base a")
        .file("bundles/base/files/etc/b", "base b")
        .file("bundles/web/fjord.toml", "[vars]\nworkers = 8\n[file.\"/etc/a\"]\nmode = \"0600\"\n")
        .file("bundles/web/files/etc/b", "web b")
        .file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\", \"../../bundles/web\"]\n"
                                       "[vars]\ndomain = \"shop.example.no\"\nflag = true\nlist = [\"x\", \"y\"]\n")
        .file("hosts/web1/files/etc/a", "host a");
    auto ds = ok(t);
    CHECK(ds.includes == std::vector<std::string>{"bundles/base", "bundles/web", "hosts/web1"});
    CHECK(ds.files.at("/etc/a").id == blob_id("host a"));
    CHECK(ds.files.at("/etc/a").origin == "hosts/web1/files/etc/a");
    CHECK(ds.files.at("/etc/a").mode == 0600); // a bundle's [file] still applies to the host's copy
    CHECK(ds.files.at("/etc/b").id == blob_id("web b"));
    CHECK(ds.vars == VarTable{{"domain", VarValue::string("shop.example.no")}, {"workers", VarValue::number("8")},
                              {"db", VarValue::table({{"port", VarValue::number("5432")}})}, {"flag", VarValue::boolean(true)},
                              {"list", VarValue::strings({"x", "y"})}});
}

TEST_CASE("nested includes merge once each; more than 8 levels are refused") {
    FakeTree t;
    t.file("bundles/base/files/etc/base", "1")
        .file("bundles/web/fjord.toml", "include = [\"../base\"]\n")
        .file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\", \"../../bundles/web\"]\n");
    CHECK(ok(t).includes == std::vector<std::string>{"bundles/base", "bundles/web", "hosts/web1"});

    FakeTree deep;
    for (int i = 0; i < 9; ++i)
        deep.file("b/" + std::to_string(i) + "/fjord.toml", "include = [\"../" + std::to_string(i + 1) + "\"]\n");
    deep.file("b/9/files/x", "x");
    deep.file("hosts/web1/fjord.toml", "include = [\"../../b/0\"]\n");
    // The host includes b/0 (depth 1) ... b/7 (depth 8): one more level is refused.
    CHECK(error_of(deep) == "b/7/fjord.toml:1:12: include \"../8\": includes nest deeper than 8 folders");
    deep.file("b/7/fjord.toml", "");
    CHECK(ok(deep).includes.size() == 9);
}

TEST_CASE("a container volume outside the protected paths is kept as given") {
    FakeTree t;
    t.file("hosts/web1/containers/web.toml", "image = \"bb:1\"\nvolumes = [\"/srv/data:/data\"]\n");
    CHECK(ok(t).containers.at("web").volumes.at(0).host == "/srv/data");
}

TEST_CASE("apply.max_files counts the merged result, units included") {
    FakeTree t;
    t.file("bundles/base/files/a", "1").file("bundles/base/files/b", "2")
        .file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\n")
        .file("hosts/web1/files/a", "3").file("hosts/web1/units/x.service", "[Service]\n");
    RenderOptions o = web1();
    o.max_files = 3;
    CHECK(ok(t, o).files.size() == 3); // a overrides a: 2 files + 1 unit file
    t.file("hosts/web1/units/x.service.d/10-limits.conf", "[Service]\n");
    auto r = render(t, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::refused);
    CHECK(r.error().message == "hosts/web1: 4 files with its includes, more than apply.max_files (3)");
    o.max_files = 1;
    CHECK(error_of(t, o) == "bundles/base/files: 2 files, more than apply.max_files (1)");
}

TEST_CASE("apply.max_file_size is judged by blob size, without reading") {
    FakeTree t;
    t.big("hosts/web1/files/var/big.img", 2000).file("hosts/web1/files/etc/small", "s");
    RenderOptions o = web1();
    o.max_file_size = 1999;
    auto r = render(t, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::refused);
    CHECK(r.error().message == "hosts/web1/files/var/big.img: 2000 bytes, larger than apply.max_file_size (1999 bytes)");
    CHECK(t.reads.empty());
    o.max_file_size = 2000;
    CHECK(ok(t, o).files.size() == 2);
}

TEST_CASE("symlinks inside apply.root are kept as they are written") {
    FakeTree t;
    t.file("hosts/web1/files/etc/nginx/sites-available/default", "server {}\n")
        .link("hosts/web1/files/etc/nginx/sites-enabled/default", "../sites-available/default")
        .link("hosts/web1/files/srv/www", "../var/www"); // a link to a folder is kept as a link
    auto ds = ok(t);
    const FileSpec &l = ds.files.at("/etc/nginx/sites-enabled/default");
    CHECK(l.kind == FileKind::symlink);
    CHECK(l.target == "../sites-available/default");
    CHECK(l.id.empty());
    CHECK(ds.files.at("/srv/www").target == "../var/www");

    FakeTree edge;
    edge.link("hosts/web1/files/etc/x/y", "../../srv/./a/../b");
    CHECK(ok(edge).files.at("/etc/x/y").target == "../../srv/./a/../b");
}

TEST_CASE(".tmpl files render with vars and host facts") {
    FakeTree t;
    t.file("hosts/web1/fjord.toml", "[vars]\ndomain = \"shop.example.no\"\nworkers = 4\n[vars.db]\nhost = \"db1\"\n")
        .file("hosts/web1/files/etc/app.conf.tmpl",
              "{{! rendered by fjord }}\nserver_name {{domain}};\n  {{! standalone }}\nworkers={{ workers }} db={{{db.host}}} "
              "on {{&host.name}}@{{fjord.commit}}{{! inline }}.\n",
              true)
        .file("hosts/web1/files/etc/plain", "{{not a template}}");
    auto ds = ok(t);
    const FileSpec &f = ds.files.at("/etc/app.conf");
    std::string want = "server_name shop.example.no;\nworkers=4 db=db1 on web1@c0ffee.\n";
    CHECK(f.id == blob_id(want));
    CHECK(f.mode == 0755);
    CHECK(f.origin == "hosts/web1/files/etc/app.conf.tmpl");
    REQUIRE(ds.blobs.count(f.id) == 1);
    CHECK(ds.blobs.at(f.id) == want);
    CHECK(ds.files.at("/etc/plain").id == blob_id("{{not a template}}"));
    // Only the manifest and the template were read.
    CHECK(t.reads.size() == 2);
    CHECK(t.reads.count(blob_id("{{not a template}}")) == 0);
}

TEST_CASE("a template's rendered output is held to apply.max_file_size") {
    FakeTree t;
    t.file("hosts/web1/files/etc/a.tmpl", "{{host.name}}");
    RenderOptions o = web1();
    set_var(o.facts, "host.name", VarValue::string("web1.shop.example.no"));
    o.max_file_size = 20;
    CHECK(ok(t, o).blobs.size() == 1);
    o.max_file_size = 19; // the 13-byte template passes; its 20-byte output does not
    CHECK(error_of(t, o) == "hosts/web1/files/etc/a.tmpl: rendered content is larger than apply.max_file_size (19 bytes)");
}

TEST_CASE("bundle vars are overridden by host vars; tables merge key by key; lists replace") {
    FakeTree t;
    t.file("bundles/base/fjord.toml", "[vars]\ndomain = \"base.example\"\nupstreams = [\"a:1\", \"b:1\"]\n"
                                      "[vars.db]\nhost = \"db0\"\nport = 5432\n")
        .file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\n[vars]\ndomain = \"shop.example.no\"\n"
                                       "upstreams = [\"c:2\"]\n[vars.db]\nhost = \"db1\"\n")
        .file("bundles/base/files/etc/site.conf.tmpl",
              "server_name {{domain}};\n{{#upstreams}}server {{.}};\n{{/upstreams}}db={{db.host}}:{{db.port}}\n");
    auto ds = ok(t);
    CHECK(ds.blobs.at(ds.files.at("/etc/site.conf").id) == "server_name shop.example.no;\nserver c:2;\ndb=db1:5432\n");
    // --var overrides (fjordctl render) go over everything.
    RenderOptions o = web1();
    o.var_overrides["domain"] = VarValue::string("preview.example");
    set_var(o.var_overrides, "db.port", VarValue::number("6432"));
    auto ds2 = ok(t, o);
    CHECK(ds2.blobs.at(ds2.files.at("/etc/site.conf").id) == "server_name preview.example;\nserver c:2;\ndb=db1:6432\n");
}

TEST_CASE("unit files and drop-ins ending in .tmpl are rendered") {
    FakeTree t;
    t.file("hosts/web1/fjord.toml", "[vars]\nport = 8080\nmem = \"64M\"\n")
        .file("hosts/web1/units/app.service.tmpl", "[Service]\nExecStart=/bin/app --port {{port}} --host {{host.name}}\n")
        .file("hosts/web1/units/app.service.d/mem.conf.tmpl", "[Service]\nMemoryMax={{mem}}\n");
    auto ds = ok(t);
    REQUIRE(ds.units.count("app.service") == 1);
    const FileSpec &f = ds.files.at("/etc/systemd/system/app.service");
    CHECK(ds.blobs.at(f.id) == "[Service]\nExecStart=/bin/app --port 8080 --host web1\n");
    CHECK(f.origin == "hosts/web1/units/app.service.tmpl");
    CHECK(ds.blobs.at(ds.files.at("/etc/systemd/system/app.service.d/mem.conf").id) == "[Service]\nMemoryMax=64M\n");
}

TEST_CASE("template errors can be collected, so validate reports them all") {
    FakeTree t;
    t.file("hosts/web1/files/etc/a.tmpl", "{{one}}\n").file("hosts/web1/files/etc/b.tmpl", "ok\n{{two}}\n");
    RenderOptions o = web1();
    std::vector<Error> errors;
    o.template_errors = &errors;
    CHECK(error_of(t, o) == "hosts/web1/files/etc/a.tmpl:1:1: undefined variable \"one\" (not in [vars] nor a host fact)");
    REQUIRE(errors.size() == 2);
    CHECK(errors[1].message == "hosts/web1/files/etc/b.tmpl:2:1: undefined variable \"two\" (not in [vars] nor a host fact)");
}

TEST_CASE("the facts templates look up are reported") {
    FakeTree t;
    t.file("hosts/web1/files/etc/a.tmpl", "{{host.name}} {{#fjord}}{{generation}}{{/fjord}}\n");
    RenderOptions o = web1();
    set_var(o.facts, "fjord.generation", VarValue::number("7"));
    std::set<std::string> used;
    o.facts_used = &used;
    auto ds = ok(t, o);
    CHECK(ds.blobs.at(ds.files.at("/etc/a").id) == "web1 7\n");
    CHECK(used == std::set<std::string>{"host.name", "fjord"});
}

TEST_CASE(".age files go through the decrypt callback, their errors as it names them") {
    // Real decryption is tested in tests/secrets/; here only the manifest layer's part.
    FakeTree t;
    t.file("hosts/web1/files/etc/app/secret.env.age", "ciphertext");
    RenderOptions o = web1();
    CHECK(ok(t, o).files.at("/etc/app/secret.env").secret); // no callback: taken undecrypted
    o.decrypt = [](std::string_view c, const std::string &origin) -> Result<std::string> {
        if (c != "ciphertext") return fail(Errc::invalid, origin + ": bad");
        return std::string("plain");
    };
    o.secret_digest = [](std::string_view p) { return "digest of " + std::string(p); };
    auto ds = ok(t, o);
    const FileSpec &f = ds.files.at("/etc/app/secret.env");
    CHECK(f.mode == 0600);
    CHECK(f.id == blob_id("ciphertext"));
    CHECK(f.secret_mac == "digest of plain");
    t.file("hosts/web1/files/etc/app/secret.env.age", "tampered");
    CHECK(error_of(t, o) == "hosts/web1/files/etc/app/secret.env.age: bad");
}

TEST_CASE("units, drop-ins and containers are recorded and merged") {
    FakeTree t;
    t.file("bundles/base/units/node-exporter.service", "[Service]\nExecStart=/bin/ne\n")
        .file("bundles/base/fjord.toml", "[unit.\"nginx.service\"]\npre_restart = [\"nginx\", \"-t\"]\non_change = \"reload\"\n"
                                         "[container.cache]\nimage = \"redis:7\"\n")
        .file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\n"
                                       "[unit.\"nginx.service\"]\nstate = \"stopped\"\nlimits = { memory = \"256Mi\", cpu = \"50%\" }\n"
                                       "watch = [\"/etc/nginx/**\"]\n"
                                       "[container.cache]\nimage = \"redis:7.2\"\n"
                                       "[[hook]]\nwhen = \"post-apply\"\nexec = [\"/usr/local/bin/notify\"]\ntimeout = \"1m\"\n"
                                       "[[check]]\nname = \"web\"\nhttp = \"http://127.0.0.1:8080/\"\nexpect_status = 204\n"
                                       "period = \"500ms\"\n")
        .file("hosts/web1/units/nginx.service.d/10-env.conf", "[Service]\nEnvironment=A=1\n")
        .file("hosts/web1/containers/web.toml", "image = \"nginx:1.25\"\n");
    auto ds = ok(t);
    REQUIRE(ds.units.size() == 2);
    const UnitSpec &ne = ds.units.at("node-exporter.service");
    CHECK(ne.id == blob_id("[Service]\nExecStart=/bin/ne\n"));
    CHECK(ne.origin == "bundles/base/units/node-exporter.service");
    CHECK(ne.enable);
    CHECK(ne.state == "started");
    const UnitSpec &ng = ds.units.at("nginx.service");
    CHECK(ng.name == "nginx.service");
    CHECK(ng.id.empty()); // shipped by a package; only configured here
    CHECK(ng.dropins == std::map<std::string, std::string>{{"10-env.conf", blob_id("[Service]\nEnvironment=A=1\n")}});
    CHECK(ng.pre_restart == std::vector<std::string>{"nginx", "-t"});
    CHECK(ng.on_change == "reload");
    CHECK(ng.state == "stopped");
    CHECK(ng.memory == "256Mi");
    CHECK(ng.cpu == "50%");
    CHECK(ng.watch == std::vector<std::string>{"/etc/nginx/**"});

    REQUIRE(ds.containers.size() == 2);
    CHECK(ds.containers.at("web").image == "nginx:1.25");
    CHECK(ds.containers.at("web").name == "web");
    CHECK(ds.containers.at("web").origin == "hosts/web1/containers/web.toml");
    CHECK(ds.containers.at("cache").image == "redis:7.2");
    CHECK(ds.containers.at("cache").origin == "hosts/web1/fjord.toml:6:1");

    REQUIRE(ds.hooks.size() == 1);
    CHECK(ds.hooks[0].when == "post-apply");
    CHECK(ds.hooks[0].exec == std::vector<std::string>{"/usr/local/bin/notify"});
    CHECK(ds.hooks[0].timeout_ms == 60'000);
    REQUIRE(ds.checks.size() == 1);
    CHECK(ds.checks[0].name == "web");
    CHECK(ds.checks[0].expect_status == 204);
    CHECK(ds.checks[0].period_ms == 500);
    CHECK(ds.checks[0].timeout_ms == 1'000);
    // Unit files, drop-ins and the limits drop-in land under /etc/systemd/system.
    std::vector<std::string> paths;
    for (const auto &[p, f] : ds.files) paths.push_back(p);
    CHECK(paths == std::vector<std::string>{"/etc/systemd/system/nginx.service.d/10-env.conf",
                                            "/etc/systemd/system/nginx.service.d/50-fjord-limits.conf",
                                            "/etc/systemd/system/node-exporter.service"});
    const FileSpec &lim = ds.files.at("/etc/systemd/system/nginx.service.d/50-fjord-limits.conf");
    REQUIRE(ds.blobs.count(lim.id));
    CHECK(ds.blobs.at(lim.id).find("\nMemoryMax=268435456\nCPUQuota=50%\n") != std::string::npos);
    CHECK(ds.files.at("/etc/systemd/system/node-exporter.service").mode == 0644);
}

TEST_CASE("host paths: 4095 bytes fit (PATH_MAX less its NUL), 4096 do not") {
    std::string path;
    for (int i = 0; i < 15; ++i) path += "/" + std::string(255, char('a' + i));
    path += "/" + std::string(254, 'z');
    REQUIRE(path.size() == 4095);
    FakeTree longest;
    longest.file("hosts/web1/files" + path, "x");
    CHECK(ok(longest).files.count(path) == 1);
    FakeTree too_long;
    too_long.file("hosts/web1/files" + path + "z", "x");
    // The message keeps both ends of so long a repo path, and the reason after it.
    std::string origin = "hosts/web1/files" + path + "z";
    CHECK(error_of(too_long) == origin.substr(0, 400) + "..." + origin.substr(origin.size() - 400) +
                                    ": its host path is 4096 bytes; a host path is at most 4095 bytes (PATH_MAX less its NUL)");
}

TEST_CASE("clean_relative_path normalises and refuses escapes") {
    CHECK(*clean_relative_path("a//b/./c") == "a/b/c");
    CHECK(*clean_relative_path("hosts/web1/") == "hosts/web1");
    CHECK(*clean_relative_path("./") == "");
    CHECK_FALSE(clean_relative_path(""));
    CHECK_FALSE(clean_relative_path("/etc"));
    CHECK_FALSE(clean_relative_path("a/../b"));
    CHECK_FALSE(clean_relative_path(".."));
    CHECK_FALSE(clean_relative_path("a\nb"));
    CHECK(clean_relative_path("a/../b").error().message == "\"a/../b\": \"..\" is not allowed");
    RenderOptions o = web1();
    o.host_path = "../etc";
    CHECK(error_of(FakeTree{}, o) == "source.path: \"../etc\": \"..\" is not allowed");
}

TEST_CASE("hooks add up, bundles first; a check named again is replaced where it stood") {
    FakeTree t;
    t.file("bundles/base/fjord.toml", "[[hook]]\nwhen = \"pre-apply\"\nexec = [\"base\"]\n"
                                      "[[check]]\nname = \"sshd\"\nunit = \"ssh.service\"\n"
                                      "[[check]]\nname = \"web\"\ntcp = \"127.0.0.1:80\"\n")
        .file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\n"
                                       "[[hook]]\nwhen = \"post-rollback\"\nexec = [\"host\"]\n"
                                       "[[check]]\nname = \"web\"\nexec = [\"/usr/bin/true\"]\nfailure_threshold = 5\n"
                                       "[[check]]\nname = \"app\"\ncontainer = \"app\"\n");
    auto ds = ok(t);
    REQUIRE(ds.hooks.size() == 2);
    CHECK(ds.hooks[0].exec == std::vector<std::string>{"base"});
    CHECK(ds.hooks[0].timeout_ms == 30'000);
    CHECK(ds.hooks[1].when == "post-rollback");
    REQUIRE(ds.checks.size() == 3);
    CHECK(ds.checks[0].unit == "ssh.service");
    CHECK(ds.checks[1].name == "web");
    CHECK(ds.checks[1].tcp.empty());
    CHECK(ds.checks[1].exec == std::vector<std::string>{"/usr/bin/true"});
    CHECK(ds.checks[1].failure_threshold == 5);
    CHECK(ds.checks[2].container == "app");
}

TEST_CASE("manifest and container inputs that crashed toml++ 3.3.0 under the fuzzer are plain errors") {
    // tests/fuzz/manifest/regressions: "[}" aborted in a toml++ assert(), in fjord.toml and in
    // containers/NAME.toml alike.
    auto m = parse_manifest("[}", "hosts/web1/fjord.toml");
    REQUIRE_FALSE(m);
    CHECK(m.error().message.find("hosts/web1/fjord.toml:1") == 0);
    auto c = parse_container_file("[}", "web", "hosts/web1/containers/web.toml");
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("hosts/web1/containers/web.toml:1") == 0);
    CHECK_FALSE(parse_manifest("s = \"\"\"\\\n\xc2\xa7\"\"\"\n", "f.toml"));
}

TEST_CASE("[file.\"PATTERN\"]: globs apply to every matching file; exact tables beat them key by key") {
    FakeTree t;
    t.file("bundles/web/fjord.toml", "[file.\"/etc/nginx/**\"]\nvalidate = [\"nginx-check\", \"%s\"]\nmode = \"0600\"\n"
                                     "[file.\"/etc/nginx/*.conf\"]\nowner = \"www\"\n")
        .file("hosts/web1/fjord.toml", "include = [\"../../bundles/web\"]\n"
                                       "[file.\"/etc/nginx/**\"]\nmode = \"0640\"\n"
                                       "[file.\"/etc/nginx/mime.types\"]\nmode = \"0644\"\nvalidate = []\n"
                                       "[file.\"/etc/sudoers.d/*\"]\nvalidate = [\"visudo\", \"-cf\", \"%s\"]\n")
        .file("hosts/web1/files/etc/nginx/nginx.conf", "x")
        .file("hosts/web1/files/etc/nginx/sites/a.conf", "y")
        .file("hosts/web1/files/etc/nginx/mime.types", "z")
        .link("hosts/web1/files/etc/nginx/current", "nginx.conf")
        .file("hosts/web1/files/etc/motd", "hi");
    auto ds = ok(t);
    const auto &conf = ds.files.at("/etc/nginx/nginx.conf");
    CHECK(conf.validate == std::vector<std::string>{"nginx-check", "%s"});
    CHECK(conf.mode == 0640); // the host's pattern beats the bundle's
    CHECK(conf.owner == "www");
    // '*' crosses '/', as in unit watch globs.
    CHECK(ds.files.at("/etc/nginx/sites/a.conf").owner == "www");
    CHECK(ds.files.at("/etc/nginx/sites/a.conf").validate.size() == 2);
    // The exact table wins for the keys it sets; [] switches validate off.
    CHECK(ds.files.at("/etc/nginx/mime.types").mode == 0644);
    CHECK(ds.files.at("/etc/nginx/mime.types").validate.empty());
    CHECK(ds.files.at("/etc/nginx/mime.types").owner == "root");
    // A symlink takes no mode or validate from a pattern.
    CHECK(ds.files.at("/etc/nginx/current").kind == FileKind::symlink);
    CHECK(ds.files.at("/etc/nginx/current").validate.empty());
    CHECK(ds.files.at("/etc/motd").validate.empty());
    CHECK(ds.files.at("/etc/motd").mode == 0644);
}

TEST_CASE("[file] patterns of one folder that disagree on a path are an error naming both") {
    FakeTree t;
    t.file("hosts/web1/fjord.toml", "[file.\"/etc/*\"]\nmode = \"0600\"\n[file.\"/etc/app/*\"]\nmode = \"0640\"\n")
        .file("hosts/web1/files/etc/app/a", "x");
    std::string e = error_of(t);
    CHECK(e.find("file.\"/etc/*\"") != std::string::npos);
    CHECK(e.find("file.\"/etc/app/*\"") != std::string::npos);
    CHECK(e.find("both match /etc/app/a and set mode differently") != std::string::npos);
    // The same value, or an exact table settling it, is fine.
    t.file("hosts/web1/fjord.toml", "[file.\"/etc/*\"]\nmode = \"0600\"\n[file.\"/etc/app/*\"]\nmode = \"0640\"\n"
                                    "[file.\"/etc/app/a\"]\nmode = \"0644\"\n");
    CHECK(ok(t).files.at("/etc/app/a").mode == 0644);
}

TEST_CASE("validate's %s may stand inside an argument") {
    FakeTree t;
    t.file("hosts/web1/files/etc/a", "x").file("hosts/web1/fjord.toml", "[file.\"/etc/a\"]\nvalidate = [\"check\", \"--file=%s\"]\n");
    CHECK(ok(t).files.at("/etc/a").validate[1] == "--file=%s");
}

TEST_CASE("collecting, a render reports every error of every file of the host: manifests, containers, templates (issue 19)") {
    FakeTree t;
    t.file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\ncolour = 1\n[file.\"/etc/a\"]\nmodee = \"0644\"\n")
        .file("bundles/base/fjord.toml", "[vars]\nhost.x = 1\n")
        .file("hosts/web1/containers/app.toml", "image = \"app:1\"\nport = [\"80:80\"]\n")
        .file("hosts/web1/files/etc/a.tmpl", "{{one}}\n{{two}}\n");
    RenderOptions o = web1();
    // An apply stops at the first error, as before.
    CHECK(error_of(t, o) == "hosts/web1/fjord.toml:2:1: colour: unknown key");
    std::vector<Error> errors;
    o.template_errors = &errors;
    CHECK(error_of(t, o) == "hosts/web1/fjord.toml:2:1: colour: unknown key");
    std::vector<std::string> got;
    for (const auto &e : errors) got.push_back(e.message.substr(0, e.message.find(" (")));
    CHECK(got == std::vector<std::string>{
                     "hosts/web1/fjord.toml:2:1: colour: unknown key",
                     "hosts/web1/fjord.toml:4:1: file.\"/etc/a\": modee: unknown key",
                     "bundles/base/fjord.toml:2:1: vars: host: the names host.* and fjord.* are reserved for host facts",
                     "hosts/web1/containers/app.toml:2:1: port: unknown key",
                     "hosts/web1/files/etc/a.tmpl:1:1: undefined variable \"one\"",
                     "hosts/web1/files/etc/a.tmpl:2:1: undefined variable \"two\"",
                 });
}
