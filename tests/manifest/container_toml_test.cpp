// Container specs: every key typed, every error naming file:line:col, table, key and reason.
#include "manifest/manifest_toml.hpp"

#include <doctest/doctest.h>

using namespace fjord;

namespace {

ContainerSpec spec(const std::string &text) {
    auto s = parse_container_file(text, "web", "hosts/h/containers/web.toml");
    if (!s) FAIL_CHECK(s.error().message);
    REQUIRE(s);
    return *s;
}

std::string err(const std::string &text) {
    auto s = parse_container_file(text, "web", "hosts/h/containers/web.toml");
    return s ? std::string("(parsed)") : s.error().message;
}

} // namespace

TEST_CASE("a full container spec is typed") {
    auto c = spec("image = \"127.0.0.1:5000/demo/bb:1.2\"\n"
                  "command = [\"httpd\", \"-f\", \"-p\", \"80\"]\n"
                  "env = { MODE = \"prod\", X = \"a b\" }\n"
                  "ports = [\"127.0.0.1:8080:80\", \"9000:9000/udp\", \"[::1]:8443:443/tcp\"]\n"
                  "volumes = [\"/srv/www:/www:ro\", \"/var/lib/app:/data\"]\n"
                  "memory = \"128Mi\"\ncpus = \"0.5\"\nrestart = \"on-failure\"\n"
                  "labels = { team = \"web\" }\nupdate = \"glob:1.2.*\"\n"
                  "[healthcheck]\ncommand = [\"wget\", \"-q\", \"http://127.0.0.1/\"]\ninterval = \"5s\"\ntimeout = \"2s\"\nretries = 4\n");
    CHECK(c.name == "web");
    CHECK(c.image == "127.0.0.1:5000/demo/bb:1.2");
    CHECK(c.command == std::vector<std::string>{"httpd", "-f", "-p", "80"});
    CHECK(c.env == std::map<std::string, std::string>{{"MODE", "prod"}, {"X", "a b"}});
    REQUIRE(c.ports.size() == 3);
    CHECK(c.ports[0] == PortSpec{"127.0.0.1", 8080, 80, "tcp"});
    CHECK(c.ports[1] == PortSpec{"", 9000, 9000, "udp"});
    CHECK(c.ports[2] == PortSpec{"::1", 8443, 443, "tcp"});
    REQUIRE(c.volumes.size() == 2);
    CHECK(c.volumes[0] == VolumeSpec{"/srv/www", "/www", true});
    CHECK(c.volumes[1] == VolumeSpec{"/var/lib/app", "/data", false});
    CHECK(c.memory == 128ull << 20);
    CHECK(c.cpus_milli == 500);
    CHECK(c.restart == "on-failure");
    CHECK(c.labels == std::map<std::string, std::string>{{"team", "web"}});
    CHECK(c.update == "glob:1.2.*");
    REQUIRE(c.healthcheck);
    CHECK(c.healthcheck->command == std::vector<std::string>{"wget", "-q", "http://127.0.0.1/"});
    CHECK(c.healthcheck->interval_ms == 5'000);
    CHECK(c.healthcheck->timeout_ms == 2'000);
    CHECK(c.healthcheck->retries == 4);
    CHECK(c.origin == "hosts/h/containers/web.toml");
}

TEST_CASE("defaults: restart always, no limits, no healthcheck, pinned") {
    auto c = spec("image = \"nginx:1.25\"\n");
    CHECK(c.restart == "always");
    CHECK(c.memory == 0);
    CHECK(c.cpus_milli == 0);
    CHECK(!c.healthcheck);
    CHECK(c.update.empty());
    CHECK(spec("image = \"a\"\ncpus = 2\n").cpus_milli == 2000);
    CHECK(spec("image = \"a\"\ncpus = 0.25\n").cpus_milli == 250);
    CHECK(spec("image = \"a\"\nupdate = \"semver:~1.2\"\n").update == "semver:~1.2");
    CHECK(spec("image = \"a\"\nupdate = \"\"\n").update.empty());
}

TEST_CASE("volume paths are normalised") {
    auto c = spec("image = \"a\"\nvolumes = [\"//srv/./www/:/www/:ro\", \"/:/host\"]\n");
    REQUIRE(c.volumes.size() == 2);
    CHECK(c.volumes[0] == VolumeSpec{"/srv/www", "/www", true});
    CHECK(c.volumes[1] == VolumeSpec{"/", "/host", false});
}

TEST_CASE("container errors name the file, line, column, key and reason") {
    const std::string f = "hosts/h/containers/web.toml:";
    CHECK(err("command = [\"x\"]\n") == f + "1:1: image: missing (the image to run, e.g. \"registry.example.net/app:1.2\")");
    CHECK(err("image = \"a\"\nimgae = \"b\"\n") ==
          f + "2:1: imgae: unknown key (image, command, env, ports, volumes, memory, cpus, restart, labels, update, healthcheck)");
    CHECK(err("image = \"a b\"\n") == f + "1:9: image: \"a b\" is not an image reference");
    CHECK(err("image = 3\n") == f + "1:9: image: expected a string");
    CHECK(err("image = \"a\"\nports = [\"80\"]\n") == f + "2:9: ports: \"80\" is not [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]");
    CHECK(err("image = \"a\"\nports = [\"1:70000:80\"]\n").find("is not [IP:]HOSTPORT") != std::string::npos);
    CHECK(err("image = \"a\"\nports = [\"8080:80/sctp\"]\n").find("is not [IP:]HOSTPORT") != std::string::npos);
    CHECK(err("image = \"a\"\nvolumes = [\"srv:/www\"]\n") ==
          f + "2:11: volumes: \"srv:/www\" is not /HOST/PATH:/CONTAINER/PATH[:ro] (absolute, no \"..\")");
    CHECK(err("image = \"a\"\nvolumes = [\"/srv/../etc:/x\"]\n") ==
          f + "2:11: volumes: \"/srv/../etc:/x\" is not /HOST/PATH:/CONTAINER/PATH[:ro] (absolute, no \"..\")");
    CHECK(err("image = \"a\"\nvolumes = [\"/srv:/x/..\"]\n").find("is not /HOST/PATH") != std::string::npos);
    CHECK(err("image = \"-a\"\n") == f + "1:1: image: not an image reference");
    CHECK(err("image = \"a\"\ncommand = [\"a\\u0000b\"]\n") == f + "1:1: command: an argument has control characters or NUL");
    CHECK(err("image = \"a\"\nenv = { A = \"\\u0000\" }\n") == f + "1:1: env.A: NUL in the value");
    CHECK(err("image = \"a\"\nvolumes = [\"/srv:/www:rx\"]\n").find("is not /HOST/PATH") != std::string::npos);
    CHECK(err("image = \"a\"\nmemory = \"lots\"\n").find(f + "2:10: memory: bad size") == 0);
    CHECK(err("image = \"a\"\nmemory = \"1Mi\"\n") == f + "2:10: memory: must be at least 6MiB (podman's minimum)");
    CHECK(err("image = \"a\"\ncpus = \"half\"\n") == f + "2:8: cpus: \"half\" is not a number of CPUs (e.g. \"0.5\")");
    CHECK(err("image = \"a\"\ncpus = 0\n") == f + "2:8: cpus: must be between 0.001 and 1024");
    CHECK(err("image = \"a\"\nrestart = \"sometimes\"\n") ==
          f + "2:11: restart: \"sometimes\" is not one of no, on-failure, always, unless-stopped");
    CHECK(err("image = \"a\"\nupdate = \"1.2.*\"\n") == f + "2:10: update: \"1.2.*\" is not \"\", \"glob:PATTERN\" or \"semver:RANGE\"");
    CHECK(err("image = \"a\"\nupdate = \"glob:\"\n").find("is not \"\"") != std::string::npos);
    CHECK(err("image = \"a\"\nlabels = { \"io.fjord.spec\" = \"x\" }\n") ==
          f + "2:10: labels: \"io.fjord.spec\": io.fjord.* labels are fjord's own");
    CHECK(err("image = \"a\"\nenv = { A = 1 }\n") == f + "2:13: env.A: expected a string");
    CHECK(err("image = \"a\"\n[healthcheck]\ninterval = \"5s\"\n") ==
          f + "2:1: healthcheck.command: missing (the command run inside the container)");
    CHECK(err("image = \"a\"\n[healthcheck]\ncommand = [\"true\"]\nretries = 0\n") ==
          f + "4:11: healthcheck.retries: expected an integer from 1 to 100");
    CHECK(err("image = \"a\"\n[healthcheck]\ncommand = [\"true\"]\nevery = \"1s\"\n") ==
          f + "4:1: healthcheck.every: unknown key (command, interval, timeout, retries)");
    CHECK(err("image = \"a\"\n[healthcheck]\ncommand = [\"true\"]\ntimeout = \"0s\"\n") ==
          f + "4:11: healthcheck.timeout: must be more than 0s");
}

TEST_CASE("[container.NAME] tables in fjord.toml are typed the same way, errors naming the table") {
    auto m = parse_manifest("[container.web]\nimage = \"nginx:1.25\"\nports = [\"8080:80\"]\n", "hosts/h/fjord.toml");
    REQUIRE(m);
    REQUIRE(m->containers.count("web"));
    CHECK(m->containers.at("web").ports.at(0) == PortSpec{"", 8080, 80, "tcp"});
    CHECK(m->containers.at("web").origin == "hosts/h/fjord.toml:1:1");
    auto bad = parse_manifest("[container.web]\nimage = \"a\"\nport = [\"8080:80\"]\n", "hosts/h/fjord.toml");
    REQUIRE(!bad);
    CHECK(bad.error().message ==
          "hosts/h/fjord.toml:3:1: container.web: port: unknown key (image, command, env, ports, volumes, memory, cpus, restart, labels, update, healthcheck)");
    auto tmp = parse_manifest("[container.web-fjord-new]\nimage = \"a\"\n", "hosts/h/fjord.toml");
    REQUIRE(!tmp);
    CHECK(tmp.error().message.find("reserved for fjord's replacements") != std::string::npos);
}
