#include "util/command.hpp"

#include "util/deadline.hpp"
#include "util/unique_fd.hpp"
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fjord {
namespace {

using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// The program's path, looked up in the commands' own PATH (not fjordd's), as execvp would.
std::string resolve(const std::string &prog) {
    if (prog.find('/') != std::string::npos) return prog;
    for (const char *dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
        std::string p = dir + prog;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return prog; // execve fails with ENOENT: exit 127, "cannot execute"
}

// In the command's process, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_command(int devnull, int out, const char *path, char *const argv[], char *const envp[]) {
    // fjordd blocks the signals it reads through signalfd, and the guard blocks more: a
    // command must not inherit that.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
    if (::chdir("/") != 0) ::_exit(127);
    if (::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(127);
    // No descriptor of fjordd's (the state lock, the control socket, sd-bus) reaches the command.
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) ::closefrom(3);
    ::execve(path, argv, envp);
    const char msg[] = "cannot execute\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
}

// The first child: leader of the command's own process group, and its guard. Nothing a
// command starts may outlive fjordd (killed, say, mid-validate: the command holds a staged
// secret, or acts for a transaction recovery is about to undo), yet PR_SET_PDEATHSIG reaches
// only a direct child. So the guard gets SIGTERM when fjordd dies and kills the whole group;
// otherwise it waits for the command and leaves as the command did. Async-signal-safe only.
[[noreturn]] void guard(int devnull, int out, const char *path, char *const argv[], char *const envp[], pid_t parent) {
    ::setpgid(0, 0);
    struct sigaction dfl_action {};
    dfl_action.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl_action, nullptr); // pending while blocked, for sigtimedwait below
    ::sigaction(SIGTERM, &dfl_action, nullptr);
    sigset_t waited;
    sigemptyset(&waited);
    sigaddset(&waited, SIGTERM);
    sigaddset(&waited, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &waited, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127); // fjordd died before the line above
    pid_t cmd = ::fork();
    if (cmd < 0) ::_exit(127);
    if (cmd == 0) exec_command(devnull, out, path, argv, envp);
    // Only the command writes into the capture: its end of file is the command's.
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) ::closefrom(3);
    for (;;) {
        siginfo_t si;
        int sig = static_cast<int>(::syscall(SYS_rt_sigtimedwait, &waited, &si, nullptr, _NSIG / 8));
        if (sig == SIGTERM) ::kill(0, SIGKILL); // fjordd is gone: the group goes with it, the guard too
        if (sig != SIGCHLD) continue;
        int st = 0;
        pid_t r = ::waitpid(cmd, &st, WNOHANG);
        if (r != cmd) continue;
        if (WIFEXITED(st)) ::_exit(WEXITSTATUS(st));
        // Killed by a signal: the guard dies of the same one, so fjordd reads the same status.
        int killer = WTERMSIG(st);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(killer, &dfl, nullptr);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, killer);
        ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
        ::kill(::getpid(), killer);
        ::_exit(128 + killer);
    }
}

} // namespace

std::string CommandResult::status() const {
    switch (end) {
    case End::exited: return "exit status " + std::to_string(code);
    case End::signaled: return "killed by signal " + std::to_string(code);
    case End::timed_out: return "timed out after " + std::to_string(timeout.count()) + " ms";
    }
    return "?";
}

std::string CommandResult::shown_output() const {
    std::string s = output;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
    if (truncated) s += "…(truncated)";
    return s;
}

std::string shown_argv(const std::vector<std::string> &argv) {
    std::string out;
    for (const auto &a : argv) {
        if (!out.empty()) out += ' ';
        if (!a.empty() && a.find_first_of(" \t\n'\"\\") == std::string::npos) {
            out += a;
            continue;
        }
        out += '\'';
        for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        out += '\'';
    }
    return out;
}

Result<CommandResult> run_command(const Command &cmd) {
    if (cmd.argv.empty() || cmd.argv[0].empty()) return fail(Errc::invalid, "empty command");
    std::vector<std::string> argv_s = cmd.argv, env_s = {command_path, command_lang};
    env_s.insert(env_s.end(), cmd.env.begin(), cmd.env.end());
    std::vector<char *> argv, envp;
    for (auto &a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto &e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string path = resolve(cmd.argv[0]);

    int pfd[2];
    if (::pipe2(pfd, O_CLOEXEC) != 0) return fail_errno("pipe");
    unique_fd rd(pfd[0]), wr(pfd[1]);
    unique_fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) return fail_errno("open /dev/null");
    auto start = steady::now();
    auto deadline = start + cmd.timeout;
    pid_t self = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork");
    if (pid == 0) guard(devnull.get(), wr.get(), path.c_str(), argv.data(), envp.data(), self);
    ::setpgid(pid, pid); // as the child does, so the group exists before either goes on
    wr.reset();
    ::fcntl(rd.get(), F_SETFL, O_NONBLOCK); // the read end only: the child's stdout stays blocking

    CommandResult res;
    res.timeout = cmd.timeout;
    auto reap = [&] {
        ::kill(-pid, SIGKILL);
        int st = 0;
        ::waitpid(pid, &st, 0);
        return st;
    };
    // glibc 2.36's <sys/pidfd.h> lacks extern "C", so the system call is made directly.
    unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) {
        int err = errno;
        reap();
        return fail_errno("pidfd_open", err);
    }
    auto drain = [&] {
        char buf[4096];
        ssize_t r;
        while ((r = ::read(rd.get(), buf, sizeof buf)) > 0) {
            std::size_t keep = std::min<std::size_t>(static_cast<std::size_t>(r), cmd.max_output - std::min(cmd.max_output, res.output.size()));
            res.output.append(buf, keep);
            if (keep < static_cast<std::size_t>(r)) res.truncated = true; // read on, so the command never blocks on a full pipe
        }
        return r == 0; // EOF
    };
    bool exited = false, eof = false;
    while (!exited) {
        int wait = left_ms(deadline);
        if (wait == 0) break;
        pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {rd.get(), POLLIN, 0}};
        int r = ::poll(p, eof ? 1 : 2, wait);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        if (!eof && p[1].revents) eof = drain();
        // WNOWAIT: the child stays a zombie, so its pid (and group id) cannot be reused
        // before the group is killed below.
        siginfo_t si{};
        exited = p[0].revents && ::waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
    }
    if (!eof) drain();
    // A timeout, or what the command left behind in its group: nothing outlives it.
    int status = reap();
    res.took = std::chrono::duration_cast<ms>(steady::now() - start);
    if (!exited) res.end = CommandResult::End::timed_out;
    else if (WIFSIGNALED(status)) {
        res.end = CommandResult::End::signaled;
        res.code = WTERMSIG(status);
    } else {
        res.end = CommandResult::End::exited;
        res.code = WEXITSTATUS(status);
    }
    return res;
}

} // namespace fjord
