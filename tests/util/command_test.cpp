#include "util/command.hpp"

#include "support/temp_dir.hpp"

#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fstream>
#include <sys/wait.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

CommandResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 5s, std::vector<std::string> env = {},
                  std::size_t max_output = 4096) {
    Command c;
    c.argv = std::move(argv);
    c.timeout = timeout;
    c.env = std::move(env);
    c.max_output = max_output;
    auto r = run_command(c);
    REQUIRE(r);
    return *r;
}

// True once `pid` is gone (or a zombie waiting for init), within about a second.
bool gone(pid_t pid) {
    for (int i = 0; i < 100; ++i) {
        std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(st, line)) return true;
        auto close = line.rfind(')');
        if (close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z') return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

} // namespace

TEST_CASE("command: exit status, interleaved output, no shell") {
    auto r = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
    CHECK(r.end == CommandResult::End::exited);
    CHECK(r.code == 3);
    CHECK(!r.ok());
    CHECK(r.output == "out\nerr\n");
    CHECK(r.status() == "exit status 3");
    CHECK(r.shown_output() == "out\nerr");
    CHECK(run({"true"}).ok());
    // Arguments reach the program as written: no shell expands them.
    CHECK(run({"sh", "-c", "test \"$0\" = '$HOME;x'", "$HOME;x"}).ok());
    auto missing = run({"fjord-no-such-program"});
    CHECK(missing.code == 127);
    CHECK(missing.output == "cannot execute\n");
    auto sig = run({"sh", "-c", "kill -KILL $$"});
    CHECK(sig.end == CommandResult::End::signaled);
    CHECK(sig.status() == "killed by signal 9");
}

TEST_CASE("command: a clean environment: PATH, LANG and what is passed, nothing of fjordd's") {
    ::setenv("FJORD_TEST_LEAK", "secret", 1);
    auto r = run({"env"}, 5s, {"FJORD_COMMIT=abc"});
    ::unsetenv("FJORD_TEST_LEAK");
    CHECK(r.output == "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C\nFJORD_COMMIT=abc\n");
    // The program is looked up in that PATH, not fjordd's.
    test::TempDir dir;
    std::string prog = dir.path + "/fjord-test-prog";
    { std::ofstream(prog) << "#!/bin/sh\necho ran\n"; }
    ::chmod(prog.c_str(), 0755);
    std::string old = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (dir.path + ":" + old).c_str(), 1);
    auto by_name = run({"fjord-test-prog"});
    ::setenv("PATH", old.c_str(), 1);
    CHECK(by_name.code == 127);
    CHECK(run({prog}).output == "ran\n");
}

TEST_CASE("command: stdin is /dev/null and no descriptor is inherited") {
    int fd = ::open("/dev/null", O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::dup2(fd, 100) == 100); // no O_CLOEXEC on purpose: close_range must catch it
    ::close(fd);
    auto r = run({"sh", "-c", "readlink /proc/$$/fd/0; test -e /proc/$$/fd/100 && echo leaked; test -e /proc/$$/fd/2 && echo stderr"});
    ::close(100);
    CHECK(r.ok());
    CHECK(r.output == "/dev/null\nstderr\n");
}

TEST_CASE("command: blocked and ignored signals are not inherited") {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, &old);
    auto prev = ::signal(SIGINT, SIG_IGN);
    auto r = run({"sh", "-c", "kill -TERM $$; sleep 5"}, 3s);
    auto i = run({"sh", "-c", "kill -INT $$; sleep 5"}, 3s);
    ::signal(SIGINT, prev);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    CHECK(r.end == CommandResult::End::signaled);
    CHECK(r.code == SIGTERM);
    CHECK(i.end == CommandResult::End::signaled);
}

TEST_CASE("command: at its timeout the whole process group is killed, grandchildren too") {
    auto t0 = std::chrono::steady_clock::now();
    auto r = run({"sh", "-c", "sleep 30 & echo $!; sh -c 'sleep 30' & wait"}, 300ms);
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.end == CommandResult::End::timed_out);
    CHECK(r.status() == "timed out after 300 ms");
    CHECK(took < 2s);
    CHECK(took >= 300ms);
    pid_t grandchild = std::atoi(r.output.c_str());
    REQUIRE(grandchild > 0);
    CHECK(gone(grandchild));
}

TEST_CASE("command: what a command leaves running in its group is killed when it exits") {
    auto t0 = std::chrono::steady_clock::now();
    auto r = run({"sh", "-c", "sleep 30 & echo $!"}, 10s);
    CHECK(r.ok());
    CHECK(std::chrono::steady_clock::now() - t0 < 2s); // the sleep holding stdout does not delay it
    pid_t left = std::atoi(r.output.c_str());
    REQUIRE(left > 0);
    CHECK(gone(left));
}

TEST_CASE("command: a command and all it started die with fjordd, even killed") {
    test::TempDir dir;
    std::string pids = dir.path + "/pids";
    // A stand-in for fjordd: runs a command that starts a grandchild, then is SIGKILLed.
    pid_t fjordd = ::fork();
    REQUIRE(fjordd >= 0);
    if (fjordd == 0) {
        Command c;
        c.argv = {"sh", "-c", "sleep 60 & echo \"$$ $!\" >" + pids + ".tmp; mv " + pids + ".tmp " + pids + "; sleep 60"};
        c.timeout = 120s;
        (void)run_command(c);
        ::_exit(0);
    }
    std::string line;
    for (int i = 0; i < 500 && line.empty(); ++i) {
        std::ifstream f(pids);
        std::getline(f, line);
        if (line.empty()) std::this_thread::sleep_for(10ms);
    }
    REQUIRE_FALSE(line.empty());
    pid_t sh = std::atoi(line.c_str()), sleeper = std::atoi(line.c_str() + line.find(' ') + 1);
    REQUIRE(::kill(fjordd, SIGKILL) == 0);
    int st = 0;
    ::waitpid(fjordd, &st, 0);
    CHECK(gone(sh));
    CHECK(gone(sleeper)); // not only the direct child: the whole group
}

TEST_CASE("command: a command killed by a signal is reported so (through its guard)") {
    auto r = run({"sh", "-c", "kill -TERM $$"});
    CHECK(r.end == CommandResult::End::signaled);
    CHECK(r.code == SIGTERM);
    CHECK(r.status() == "killed by signal 15");
}

TEST_CASE("command: output is bounded, and a chatty command is never blocked by it") {
    auto r = run({"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo done >&2; exit 1"}, 10s);
    CHECK(r.code == 1);
    CHECK(r.output.size() == 4096);
    CHECK(r.truncated);
    CHECK(r.shown_output() == std::string(4096, 'x') + "…(truncated)");
    auto small = run({"sh", "-c", "echo 12345678"}, 5s, {}, 4);
    CHECK(small.output == "1234");
    CHECK(small.shown_output() == "1234…(truncated)");
}

TEST_CASE("command: argv shown for messages") {
    CHECK(shown_argv({"visudo", "-cf", "/x"}) == "visudo -cf /x");
    CHECK(shown_argv({"sh", "-c", "echo 'a b'"}) == "sh -c 'echo '\\''a b'\\'''");
    CHECK(shown_argv({"x", ""}) == "x ''");
}
