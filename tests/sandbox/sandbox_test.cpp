#include "sandbox/sandbox.hpp"
#include "sandbox/landlock.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <filesystem>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

TEST_CASE("sandbox: the child is named after its work (ps, top and the OOM killer show fjord-render)") {
    auto name_of = [](const std::string &what) {
        return run_sandboxed(what, SeccompProfile::render, quick(), [] {
            std::string name;
            std::getline(std::ifstream("/proc/self/comm"), name);
            return Result<std::string>(name);
        });
    };
    CHECK(name_of("render").value_or("") == "fjord-render");
    CHECK(name_of("history check").value_or("") == "fjord-history");
}

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
    CHECK(r.error().code == Errc::killed);

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

namespace {

using test::TempDir;

std::string read_file(const std::string &path) {
    std::ifstream in(path);
    std::string content;
    std::getline(in, content);
    return content;
}

} // namespace

TEST_CASE("sandbox: the fetch profile has the network and may write files beneath its folder") {
    TempDir cache;
    const std::string path = cache.path + "/objects";
    SandboxLimits l = quick();
    l.writable_dir = cache.path;
    auto r = run_sandboxed("fetch", SeccompProfile::fetch, l, [&]() -> Result<std::string> {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int s6 = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        bool ok = s >= 0 && s6 >= 0 && fd >= 0 && ::write(fd, "written", 7) == 7 && ::fchmod(fd, 0444) == 0 &&
                  ::mkdir((path + ".d").c_str(), 0755) == 0 && ::rename((path + ".d").c_str(), (path + ".e").c_str()) == 0;
        int avail = -1;
        ok = ok && ::ioctl(s, FIONREAD, &avail) == 0; // an allowed ioctl request
        ::close(fd), ::close(s), ::close(s6);
        return std::string(ok ? "ok" : "failed: " + std::string(std::strerror(errno)));
    });
    CHECK(r.value_or(error_of(r)) == "ok");
    CHECK(read_file(path) == "written");
    CHECK(std::filesystem::is_directory(cache.path + "/objects.e"));
}

TEST_CASE("sandbox: a fetch child cannot write outside its folder (Landlock)" * doctest::skip(landlock_abi() < 1)) {
    // Skipped, and counted as skipped, where the kernel has no Landlock: seccomp cannot see paths.
    TempDir cache, outside;
    SandboxLimits l = quick();
    l.writable_dir = cache.path;
    const std::string existing = outside.path + "/existing";
    { std::ofstream(existing) << "before\n"; }
    for (auto p : {SeccompProfile::fetch, SeccompProfile::poll}) {
        auto r = run_sandboxed("fetch", p, l, [&]() -> Result<std::string> {
            std::string out;
            int fd = ::open((outside.path + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            out += fd < 0 ? std::string("create:") + std::strerror(errno) : "create:ok";
            fd = ::open(existing.c_str(), O_RDONLY | O_CLOEXEC);
            out += fd >= 0 ? " read:ok" : " read:failed";
            ::close(fd);
            return out;
        });
        if (p == SeccompProfile::fetch) CHECK(r.value_or(error_of(r)) == "create:Permission denied read:ok");
        else CHECK(error_of(r) == "fetch sandbox: child killed by forbidden system call openat (257)");
    }
    auto w = run_sandboxed("fetch", SeccompProfile::fetch, l, [&]() -> Result<std::string> {
        std::string out;
        int fd = ::open(existing.c_str(), O_WRONLY | O_CLOEXEC);
        out += fd < 0 ? std::string("write:") + std::strerror(errno) : "write:ok";
        out += ::unlink(existing.c_str()) < 0 ? std::string(" unlink:") + std::strerror(errno) : " unlink:ok";
        out += ::mkdir((outside.path + "/d").c_str(), 0755) < 0 ? std::string(" mkdir:") + std::strerror(errno) : " mkdir:ok";
        out += ::rename((cache.path).c_str(), (outside.path + "/moved").c_str()) < 0 ? std::string(" rename:") + std::strerror(errno) : " rename:ok";
        return out;
    });
    CHECK(w.value_or(error_of(w)) ==
          "write:Permission denied unlink:Permission denied mkdir:Permission denied rename:Permission denied");
    CHECK(read_file(existing) == "before");
    CHECK(!std::filesystem::exists(outside.path + "/new"));
    CHECK(!std::filesystem::exists(outside.path + "/d"));
}

TEST_CASE("sandbox: no setuid or setgid bit from the fetch child") {
    TempDir cache;
    const std::string path = cache.path + "/prog";
    { std::ofstream(path) << "#!/bin/sh\n"; }
    ::chmod(path.c_str(), 0755);
    SandboxLimits l = quick();
    l.writable_dir = cache.path;
    auto child = [&](const char *what, auto call) {
        return error_of(run_sandboxed("fetch", SeccompProfile::fetch, l, [&]() -> Result<std::string> {
            return std::string(what) + " returned " + std::to_string(call());
        }));
    };
    CHECK(child("chmod", [&] { return ::chmod(path.c_str(), 04755); }) ==
          "fetch sandbox: child killed by forbidden system call chmod (90)");
    CHECK(child("fchmodat", [&] { return ::fchmodat(AT_FDCWD, path.c_str(), 02755, 0); }) ==
          "fetch sandbox: child killed by forbidden system call fchmodat (268)");
    CHECK(child("fchmod", [&] {
              int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
              return ::fchmod(fd, 06755);
          }) == "fetch sandbox: child killed by forbidden system call fchmod (91)");
    CHECK(child("openat", [&] { return ::open((cache.path + "/suid").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 04755); }) ==
          "fetch sandbox: child killed by forbidden system call openat (257)");
    CHECK(child("mkdir", [&] { return ::mkdir((cache.path + "/sgid").c_str(), 02755); }) ==
          "fetch sandbox: child killed by forbidden system call mkdir (83)");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(!std::filesystem::exists(cache.path + "/suid"));
}

TEST_CASE("sandbox: only TCP/IP sockets, and no terminal ioctl, in the network children") {
    TempDir dir;
    // A unix socket to connect to: a stand-in for /run/systemd/private, podman.sock, the system bus.
    const std::string path = dir.path + "/bus";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    for (auto p : {SeccompProfile::poll, SeccompProfile::fetch}) {
        auto r = run_sandboxed("net", p, quick(), [&]() -> Result<std::string> {
            std::string out;
            for (int family : {AF_UNIX, AF_NETLINK, AF_PACKET, AF_UNSPEC, 5}) {
                int s = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                out += s < 0 ? std::string(std::strerror(errno)) + ";" : "socket;";
                if (s >= 0 && ::connect(s, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0) out += "connected;";
            }
            return out;
        });
        CHECK(r.value_or(error_of(r)) == "Address family not supported by protocol;Address family not supported by protocol;"
                                             "Address family not supported by protocol;Address family not supported by protocol;"
                                             "Address family not supported by protocol;");
        auto sti = run_sandboxed("net", p, quick(), []() -> Result<std::string> {
            char c = 'x';
            return "TIOCSTI returned " + std::to_string(::ioctl(0, TIOCSTI, &c));
        });
        CHECK(error_of(sti) == "net sandbox: child killed by forbidden system call ioctl (16)");
        auto linux_ = run_sandboxed("net", p, quick(), []() -> Result<std::string> {
            char c = 12;
            return "TIOCLINUX returned " + std::to_string(::ioctl(0, TIOCLINUX, &c));
        });
        CHECK(error_of(linux_) == "net sandbox: child killed by forbidden system call ioctl (16)");
    }
    ::close(listener);
}

TEST_CASE("sandbox: a child holds none of the parent's sockets, pipes or terminals, and no stdio") {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0); // inheritable, as a leak would be
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    TempDir dir;
    const std::string file = dir.path + "/pack";
    { std::ofstream(file) << "pack\n"; }
    int regular = ::open(file.c_str(), O_RDONLY); // libgit2's pack files must stay
    REQUIRE(regular >= 0);
    for (auto p : {SeccompProfile::poll, SeccompProfile::fetch, SeccompProfile::render}) {
        auto r = run_sandboxed("t", p, quick(), [&]() -> Result<std::string> {
            std::string out;
            for (int fd : {pair[0], pair[1], pipe_fds[0], pipe_fds[1]})
                out += ::fcntl(fd, F_GETFD) < 0 && errno == EBADF ? "closed;" : "open;";
            char c;
            out += ::pread(regular, &c, 1, 0) == 1 && c == 'p' ? "file kept;" : "file lost;";
            for (int fd = 0; fd <= 2; ++fd) {
                char link[64] = {};
                (void)!::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof link - 1);
                out += std::string(link) + ";";
            }
            return out;
        });
        CHECK(r.value_or(error_of(r)) == "closed;closed;closed;closed;file kept;/dev/null;/dev/null;/dev/null;");
    }
    // The parent's own descriptors are untouched.
    CHECK(::write(pair[0], "x", 1) == 1);
    for (int fd : {pair[0], pair[1], pipe_fds[0], pipe_fds[1], regular}) ::close(fd);
}

TEST_CASE("sandbox: the poll profile writes no file") {
    TempDir dir;
    SandboxLimits l = quick();
    l.writable_dir = dir.path; // even where Landlock would allow it
    auto create = run_sandboxed("poll", SeccompProfile::poll, l, [&]() -> Result<std::string> {
        return "open returned " + std::to_string(::open((dir.path + "/x").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    });
    CHECK(error_of(create) == "poll sandbox: child killed by forbidden system call openat (257)");
    auto rename = run_sandboxed("poll", SeccompProfile::poll, l, [&]() -> Result<std::string> {
        return "rename returned " + std::to_string(::rename(dir.path.c_str(), (dir.path + ".x").c_str()));
    });
    CHECK(error_of(rename) == "poll sandbox: child killed by forbidden system call rename (82)");
    auto net = run_sandboxed("poll", SeccompProfile::poll, l, []() -> Result<std::string> {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ::close(s);
        return std::string(s >= 0 ? "socket ok" : "socket failed");
    });
    CHECK(net.value_or(error_of(net)) == "socket ok");
    CHECK(std::filesystem::is_empty(dir.path));
}

TEST_CASE("sandbox: per-step cost") {
    // Not a benchmark: a bound that catches a sandbox gone slow (every poll forks one child).
    auto start = std::chrono::steady_clock::now();
    constexpr int n = 100;
    for (int i = 0; i < n; ++i) {
        auto r = run_sandboxed("poll", SeccompProfile::poll, quick(), [] { return Result<std::string>(std::string("ok")); });
        REQUIRE(r);
    }
    auto each = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / n;
    MESSAGE("one poll-profile child: " << each << " ms");
    CHECK(each < 50);
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
