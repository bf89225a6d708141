#include "cli/offline_cmd.hpp"

#include "apply/state_check.hpp"
#include "apply/store.hpp"
#include "cli/tty.hpp"
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fjord {
namespace {

int failed(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\n", tty_lines(msg).c_str());
    return 1;
}

bool executable_file(const std::string &p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

/// Runs argv[0] with fjordctl's environment and stderr; its stdout is read into `out`. While it
/// runs, ^C and ^\ at the terminal reach fjordd (which finishes what it started) but do not
/// take fjordctl away from under it, as system(3) does.
int run_capturing(const std::vector<std::string> &argv, std::string &out) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) return failed(std::string("pipe: ") + std::strerror(errno));
    struct sigaction ignore {}, old_int {}, old_quit {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGINT, &ignore, &old_int);
    ::sigaction(SIGQUIT, &ignore, &old_quit);
    auto restore = [&] {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGQUIT, &old_quit, nullptr);
    };
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        restore();
        ::close(pipefd[0]);
        ::close(pipefd[1]);
        return failed(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGQUIT, &old_quit, nullptr);
        if (::dup2(pipefd[1], STDOUT_FILENO) < 0) ::_exit(127);
        ::execv(args[0], args.data());
        std::fprintf(stderr, "fjordctl: cannot run %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    ::close(pipefd[1]);
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(pipefd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (out.size() < (1u << 20)) out.append(buf, static_cast<std::size_t>(n)); // a result is a few lines
    }
    ::close(pipefd[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    restore();
    if (WIFEXITED(status)) return WEXITSTATUS(status) == 127 ? 1 : WEXITSTATUS(status); // 127: not run, said above
    return failed(argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status)));
}

} // namespace

std::string find_fjordd() {
    std::vector<std::string> candidates;
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        candidates.push_back((self.parent_path() / "fjordd").string());
        candidates.push_back((self.parent_path().parent_path() / "sbin" / "fjordd").string());
    }
    if (const char *path = std::getenv("PATH")) {
        std::string_view rest = path;
        while (!rest.empty()) {
            auto colon = rest.find(':');
            std::string dir(rest.substr(0, colon));
            rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
            if (!dir.empty() && dir[0] == '/') candidates.push_back(dir + "/fjordd");
        }
    }
    for (const auto &c : candidates)
        if (executable_file(c)) return c;
    return {};
}

int repair_offline(const Config &cfg, bool yes) {
    auto store = Store::open_existing(cfg.state.dir);
    if (!store) return failed(store.error().message);
    auto lock = store->lock();
    if (!lock) return failed(lock.error().message);
    if (!yes) {
        auto chk = check_state(*store);
        if (!chk) return failed(chk.error().message);
        for (const auto &line : chk->rebuilt) std::printf("rebuilt: %s\n", tty_lines(line).c_str());
        if (chk->damage.empty()) {
            std::printf("nothing to repair: fjord rebuilds what is damaged by itself\n");
            return 0;
        }
        std::printf("damaged: %s\nrepair would: %s\nrun fjordctl repair --yes to do it\n", tty_lines(chk->damage).c_str(),
                    tty_lines(chk->repair).c_str());
        return 1;
    }
    auto done = repair_state(*store);
    if (!done) return failed("repair failed: " + done.error().message);
    for (const auto &line : *done) std::printf("%s\n", tty_lines(line).c_str());
    std::printf("fjordd is not running; it recovers and applies at its next start\n");
    return 0;
}

int suspend_offline(const Config &cfg, bool suspend) {
    auto store = Store::open(cfg.state.dir);
    if (!store) return failed(store.error().message);
    Status s = suspend ? store->suspend() : store->resume();
    if (!s) return failed(s.error().message);
    std::printf("%s (fjordd is not running; it will see this when it starts)\n", suspend ? "suspended" : "resumed");
    return 0;
}

int rollback_offline(const Config &cfg, std::uint64_t gen) {
    std::string fjordd = find_fjordd();
    if (fjordd.empty())
        return failed("fjordd is not running, and a rollback without it is done by `fjordd --rollback`, but no fjordd "
                      "program was found beside fjordctl or on PATH");
    std::string out;
    int rc = run_capturing({fjordd, "--config", cfg.file, "--rollback", std::to_string(gen)}, out);
    // fjordd prints the result; fjordctl shows it as it shows every text from the host.
    std::fputs(tty_lines(out).c_str(), stdout);
    return rc;
}

} // namespace fjord
