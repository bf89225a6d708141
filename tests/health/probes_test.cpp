// The real probes against real things: a python3 http.server on loopback, a real TCP listener,
// real commands; the unit probe with a scripted systemd (the real one: tests/integration/health.sh).
#include "health/probes.hpp"
#include "util/command.hpp"

#include "host/fake_podman.hpp"

#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

// python3's http.server on 127.0.0.1: /ok answers 200 "hello fjord", /err 500, /slow after 3 s.
const char *server_py = R"PY(
import http.server, os, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow": time.sleep(3)
        code = 500 if self.path == "/err" else 200
        body = b"hello fjord" if self.path == "/ok" else b"nope"
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(os.getpid(), s.server_address[1], flush=True)
s.serve_forever()
)PY";

struct PyServer {
    int pid = 0, port = 0;
    PyServer() {
        int fds[2];
        if (::pipe(fds) != 0) return;
        pid_t child = ::fork();
        if (child == 0) {
            ::dup2(fds[1], 1);
            ::close(fds[0]);
            ::execlp("python3", "python3", "-c", server_py, static_cast<char *>(nullptr));
            ::_exit(127);
        }
        ::close(fds[1]);
        FILE *p = ::fdopen(fds[0], "r");
        if (child < 0 || !p || std::fscanf(p, "%d %d", &pid, &port) != 2) pid = port = 0;
        if (p) std::fclose(p);
        if (pid == 0 && child > 0) ::kill(child, SIGKILL);
        pid = child > 0 ? child : 0;
    }
    ~PyServer() {
        if (pid <= 0) return;
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
    }
    std::string url(const char *path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

// A port nothing listens on: bound, never listening, so connects are refused.
struct DeadPort {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = 0;
    DeadPort() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~DeadPort() { ::close(fd); }
};

template <class F> std::chrono::milliseconds timed(F f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

class ScriptedSystemd final : public SystemdManager {
  public:
    UnitState st;
    Status reload_daemon() override { return {}; }
    Status enable(const std::vector<std::string> &) override { return {}; }
    Status disable(const std::vector<std::string> &) override { return {}; }
    Status start(const std::string &) override { return {}; }
    Status stop(const std::string &) override { return {}; }
    Status restart(const std::string &) override { return {}; }
    Status reload(const std::string &) override { return {}; }
    Result<UnitState> state(const std::string &) override { return st; }
};

} // namespace

TEST_CASE("http: status and body against a real python3 http.server") {
    PyServer srv;
    REQUIRE(srv.port > 0);
    auto ok = http_probe(srv.url("/ok"), 200, "")->run(2s);
    CHECK(ok.ok);
    CHECK(http_probe(srv.url("/ok"), 200, "fjord")->run(2s).ok);
    auto body = http_probe(srv.url("/ok"), 200, "welcome")->run(2s);
    CHECK(!body.ok);
    CHECK(body.detail == "status 200, but the body lacks \"welcome\"");
    auto err = http_probe(srv.url("/err"), 200, "")->run(2s);
    CHECK(!err.ok);
    CHECK(err.detail == "status 500, want 200");
    CHECK(http_probe(srv.url("/err"), 500, "")->run(2s).ok);
    CHECK(http_probe(srv.url("/ok"), 200, "")->target() == srv.url("/ok"));
    ProbeResult slow;
    auto took = timed([&] { slow = http_probe(srv.url("/slow"), 200, "")->run(300ms); });
    CHECK(!slow.ok);
    CHECK(took < 2s);
    CHECK(slow.detail.find("imed out") != std::string::npos);
}

TEST_CASE("http: a refused connection fails with the reason") {
    DeadPort dead;
    auto r = http_probe("http://127.0.0.1:" + std::to_string(dead.port) + "/", 200, "")->run(1s);
    CHECK(!r.ok);
    CHECK(r.detail.find("onnect") != std::string::npos);
    auto ftp = http_probe("file:///etc/hostname", 200, "")->run(1s);
    CHECK(!ftp.ok); // only http and https
}

TEST_CASE("tcp: a real listener passes, a closed port is refused") {
    DeadPort srv;
    REQUIRE(::listen(srv.fd, 4) == 0);
    auto ok = tcp_probe("127.0.0.1:" + std::to_string(srv.port))->run(1s);
    CHECK(ok.ok);
    DeadPort dead;
    auto r = tcp_probe("127.0.0.1:" + std::to_string(dead.port))->run(1s);
    CHECK(!r.ok);
    CHECK(r.detail == "connect: Connection refused");
    CHECK(!tcp_probe("no-port-here")->run(1s).ok);
    CHECK(tcp_probe("localhost:" + std::to_string(srv.port))->target() == "tcp localhost:" + std::to_string(srv.port));
}

TEST_CASE("exec: argv without a shell, exit status, output kept and bounded") {
    CHECK(exec_probe({"true"})->run(2s).ok);
    auto r = exec_probe({"sh", "-c", "echo boom; echo more >&2; exit 3"})->run(2s);
    CHECK(!r.ok);
    CHECK(r.detail == "exit status 3: boom more");
    // No shell: the argument reaches the program as written.
    auto lit = exec_probe({"sh", "-c", "test \"$0\" = '$HOME;x' || exit 1", "$HOME;x"})->run(2s);
    CHECK(lit.ok);
    auto missing = exec_probe({"/nonexistent/fjord-check"})->run(2s);
    CHECK(!missing.ok);
    CHECK(missing.detail == "exit status 127: cannot execute");
    auto big = exec_probe({"sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; exit 1"})->run(5s);
    CHECK(!big.ok);
    CHECK(big.detail.size() < 2100);
}

TEST_CASE("exec: the FJORD_* variables hooks get; output hidden when the generation has secrets") {
    ExecCheckContext ctx{{"FJORD_COMMIT=abc", "FJORD_GENERATION=7"}, false};
    auto r = exec_probe({"sh", "-c", "test \"$FJORD_COMMIT-$FJORD_GENERATION\" = abc-7 && echo seen"}, ctx)->run(2s);
    CHECK(r.ok);
    ctx.hide_output = true;
    auto secret = exec_probe({"sh", "-c", "echo PASSWORD=hunter2; exit 1"}, ctx)->run(2s);
    CHECK(!secret.ok);
    CHECK(secret.detail.find("hunter2") == std::string::npos);
    CHECK(secret.detail == std::string("exit status 1 (") + secret_output_hidden + ")");
    // Nothing printed, nothing to hide.
    CHECK(exec_probe({"false"}, ctx)->run(2s).detail == "exit status 1");
}

TEST_CASE("exec: a command past its timeout is killed with its children") {
    ProbeResult r;
    auto took = timed([&] { r = exec_probe({"sh", "-c", "sleep 30 & echo started; sleep 30"})->run(300ms); });
    CHECK(!r.ok);
    CHECK(r.detail == "timed out after 300 ms: started");
    CHECK(took < 2s);
}

TEST_CASE("unit: active passes; failed, activating and not-found fail; a oneshot that exited 0 passes") {
    ScriptedSystemd sd;
    auto p = unit_probe(sd, "web.service");
    sd.st = {"loaded", "active", "running", "success", ""};
    CHECK(p->run(1s).ok);
    sd.st = {"loaded", "failed", "failed", "exit-code", ""};
    auto f = p->run(1s);
    CHECK(!f.ok);
    CHECK(f.detail == "ActiveState failed (SubState failed, Result exit-code)");
    sd.st = {"loaded", "activating", "auto-restart", "exit-code", ""};
    CHECK(!p->run(1s).ok);
    sd.st = {"not-found", "inactive", "dead", "", ""};
    CHECK(p->run(1s).detail == "LoadState not-found");
    sd.st = {"loaded", "inactive", "dead", "success", ""};
    CHECK(p->run(1s).ok);
    sd.st = {"loaded", "inactive", "dead", "exit-code", ""};
    CHECK(!p->run(1s).ok);
}

TEST_CASE("build_checks: kinds, timings, implicit unit checks, refusals") {
    ScriptedSystemd sd;
    CheckSpec web;
    web.name = "web";
    web.http = "http://127.0.0.1:1/";
    web.initial_delay_ms = 5000;
    web.period_ms = 250;
    web.timeout_ms = 700;
    web.failure_threshold = 4;
    CheckSpec unit;
    unit.name = "api";
    unit.unit = "api.service";
    auto v = build_checks({web, unit}, &sd, {"api.service", "worker.service"});
    REQUIRE(v);
    REQUIRE(v->size() == 3); // api.service is named by a check already
    CHECK((*v)[0].name == "web");
    CHECK((*v)[0].initial_delay == 5000ms);
    CHECK((*v)[0].period == 250ms);
    CHECK((*v)[0].timeout == 700ms);
    CHECK((*v)[0].failure_threshold == 4);
    CHECK((*v)[1].probe->target() == "unit api.service");
    CHECK((*v)[2].name == "worker.service");
    CHECK((*v)[2].probe->target() == "unit worker.service");

    CheckSpec box;
    box.name = "box";
    box.container = "web";
    auto c = build_checks({box}, &sd, {});
    REQUIRE(!c);
    CHECK(c.error().code == Errc::invalid);
    CHECK(c.error().message == "check box: container web: no such container in this generation");

    auto nosd = build_checks({unit}, nullptr, {"worker.service"});
    REQUIRE(!nosd);
    CHECK(nosd.error().message.find("units are not activated here") != std::string::npos);
    auto none = build_checks({web}, nullptr, {"worker.service"});
    REQUIRE(none);
    CHECK(none->size() == 1); // no systemd: no implicit unit checks
}

TEST_CASE("container checks: running, and the spec's healthcheck passing, asked through podman") {
    fjord::test::FakePodman pm;
    std::map<std::string, AppliedContainer> gen;
    gen["web"].spec.name = "web";
    gen["plain"].spec.name = "plain";
    gen["web"].spec.healthcheck = ContainerHealthSpec{{"true"}, 1'000, 1'000, 1};
    CheckSpec a, b;
    a.name = "a";
    a.container = "web";
    b.name = "b";
    b.container = "plain";
    auto v = build_checks({a, b}, nullptr, {}, &pm, &gen);
    REQUIRE(v);
    REQUIRE(v->size() == 2);
    auto &web = *(*v)[0].probe;
    auto &plain = *(*v)[1].probe;
    CHECK(web.target() == "container web");
    CHECK(web.run(std::chrono::milliseconds(100)).detail == "no such container");
    pm.boxes["web"].running = false;
    pm.boxes["plain"].running = true;
    auto r = web.run(std::chrono::milliseconds(100));
    CHECK(!r.ok);
    CHECK(r.detail == "not running (exited)");
    CHECK(plain.run(std::chrono::milliseconds(100)).ok);
    pm.boxes["web"].running = true;
    CHECK(web.run(std::chrono::milliseconds(100)).detail == "running, healthy");
    pm.health["web"] = "unhealthy";
    r = web.run(std::chrono::milliseconds(100));
    CHECK(!r.ok);
    CHECK(r.detail == "running, healthcheck unhealthy");
    pm.down = true;
    CHECK(web.run(std::chrono::milliseconds(100)).detail.find("podman socket") == 0);
    auto nopm = build_checks({a}, nullptr, {}, nullptr, &gen);
    REQUIRE(!nopm);
}
