#include "daemon/sandbox.hpp"

#include <doctest/doctest.h>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

SandboxLimits quick() {
    SandboxLimits l;
    l.timeout = 10s;
    l.max_output = 1 << 20;
    return l;
}

std::string error_of(const Result<std::string> &r) { return r ? std::string("(no error)") : r.error().message; }

} // namespace

TEST_CASE("sandbox: the child's answer comes back, in both profiles") {
    for (auto p : {SeccompProfile::fetch, SeccompProfile::render}) {
        auto r = run_sandboxed("t", p, quick(), [] { return Result<std::string>(std::string("hello\0world", 11)); });
        REQUIRE(r);
        CHECK(*r == std::string("hello\0world", 11));
    }
    // Big answers cross the pipe whole (more than its 64 KiB buffer).
    std::string big(3 << 18, 'x');
    for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>(i);
    auto r = run_sandboxed("t", SeccompProfile::render, quick(), [&] { return Result<std::string>(big); });
    REQUIRE(r);
    CHECK(*r == big);
}

TEST_CASE("sandbox: the child's error comes back with its code, made printable") {
    auto r = run_sandboxed("t", SeccompProfile::render, quick(),
                           []() -> Result<std::string> { return fail(Errc::auth, "bad key\nforged line"); });
    REQUIRE(!r);
    CHECK(r.error().code == Errc::auth);
    CHECK(r.error().message == "bad key\\x0aforged line");
}

TEST_CASE("sandbox: the child runs with no_new_privs and a seccomp filter") {
    auto r = run_sandboxed("t", SeccompProfile::render, quick(), []() -> Result<std::string> {
        std::ifstream in("/proc/self/status");
        std::string line, out;
        while (std::getline(in, line))
            if (line.starts_with("Seccomp:") || line.starts_with("NoNewPrivs:")) out += line + "\n";
        return out;
    });
    REQUIRE(r);
    CHECK(*r == "NoNewPrivs:\t1\nSeccomp:\t2\n");
}

TEST_CASE("sandbox: a forbidden system call kills the child and is named") {
    // No network for the renderer.
    auto r = run_sandboxed("render", SeccompProfile::render, quick(), []() -> Result<std::string> {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        return "socket returned " + std::to_string(fd);
    });
    CHECK(error_of(r) == "render sandbox: child killed by forbidden system call socket (41)");
    CHECK(r.error().code == Errc::internal);

    // No execve in either profile.
    for (auto p : {SeccompProfile::fetch, SeccompProfile::render}) {
        auto e = run_sandboxed("x", p, quick(), []() -> Result<std::string> {
            char *argv[] = {const_cast<char *>("/bin/true"), nullptr};
            ::execve("/bin/true", argv, environ);
            return std::string("execve returned");
        });
        CHECK(error_of(e) == "x sandbox: child killed by forbidden system call execve (59)");
    }

    // The renderer opens files read-only, and writes to nothing but its pipe.
    auto w = run_sandboxed("render", SeccompProfile::render, quick(), []() -> Result<std::string> {
        int fd = ::open("/tmp/fjord-sandbox-test-must-not-exist", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        return "open returned " + std::to_string(fd);
    });
    CHECK(error_of(w) == "render sandbox: child killed by forbidden system call openat (257)");
    CHECK(::access("/tmp/fjord-sandbox-test-must-not-exist", F_OK) < 0);
    auto s = run_sandboxed("render", SeccompProfile::render, quick(), []() -> Result<std::string> {
        (void)!::write(2, "x", 1);
        return std::string("wrote to stderr");
    });
    CHECK(error_of(s) == "render sandbox: child killed by forbidden system call write (1)");
    auto ro = run_sandboxed("render", SeccompProfile::render, quick(), []() -> Result<std::string> {
        int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ::close(fd);
        return std::string(fd >= 0 ? "read-only open works" : "read-only open failed");
    });
    CHECK(ro.value_or("") == "read-only open works");

    // No forking a process from the fetch child (threads only).
    auto f = run_sandboxed("fetch", SeccompProfile::fetch, quick(), []() -> Result<std::string> {
        long pid = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) _exit(0);
        return "clone returned " + std::to_string(pid);
    });
    CHECK(error_of(f) == "fetch sandbox: child killed by forbidden system call clone (56)");
}

TEST_CASE("sandbox: the fetch profile has the network and may write files") {
    char path[] = "/tmp/fjord-sandbox-XXXXXX";
    int tmp = ::mkstemp(path);
    REQUIRE(tmp >= 0);
    ::close(tmp);
    auto r = run_sandboxed("fetch", SeccompProfile::fetch, quick(), [&]() -> Result<std::string> {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int fd = ::open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        bool ok = s >= 0 && fd >= 0 && ::write(fd, "written", 7) == 7;
        ::close(fd);
        ::close(s);
        return std::string(ok ? "ok" : "failed");
    });
    CHECK(r.value_or(error_of(r)) == "ok");
    std::ifstream in(path);
    std::string content;
    std::getline(in, content);
    CHECK(content == "written");
    ::unlink(path);
}

TEST_CASE("sandbox: a child past its time is killed") {
    SandboxLimits l = quick();
    l.timeout = 300ms;
    auto start = std::chrono::steady_clock::now();
    auto r = run_sandboxed("render", SeccompProfile::render, l, []() -> Result<std::string> {
        volatile bool spin = true;
        while (spin) {
        }
        return std::string("stopped spinning");
    });
    CHECK(error_of(r) == "render sandbox: the child did not finish within 0.3000 s; killed");
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("sandbox: an answer over the limit kills the child") {
    SandboxLimits l = quick();
    l.max_output = 100'000;
    auto r = run_sandboxed("render", SeccompProfile::render, l, [] { return Result<std::string>(std::string(100'001, 'a')); });
    CHECK(error_of(r) == "render sandbox: the child's answer passed 100000 bytes; killed");
    auto ok = run_sandboxed("render", SeccompProfile::render, l, [] { return Result<std::string>(std::string(100'000, 'a')); });
    CHECK(ok.value_or("").size() == 100'000);
}

TEST_CASE("sandbox: a crash, an exception and memory limits are reported") {
    auto crash = run_sandboxed("render", SeccompProfile::render, quick(), []() -> Result<std::string> {
        volatile int *p = nullptr;
        *p = 1;
        return std::string("survived");
    });
    CHECK(error_of(crash) == "render sandbox: child killed by SIGSEGV");
    auto thrown = run_sandboxed("render", SeccompProfile::render, quick(), []() -> Result<std::string> {
        throw std::runtime_error("boom");
    });
    CHECK(error_of(thrown) == "unexpected exception: boom");
    SandboxLimits l = quick();
    l.max_memory = 1ull << 30;
    auto oom = run_sandboxed("render", SeccompProfile::render, l, []() -> Result<std::string> {
        std::string s(2ull << 30, 'x');
        return std::string(1, s[12345]);
    });
    CHECK(error_of(oom).find("out of memory") != std::string::npos);
}
