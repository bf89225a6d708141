#include "sandbox/sandbox.hpp"

#include "sandbox/landlock.hpp"
#include "util/deadline.hpp"
#include "util/unique_fd.hpp"
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fjord {
namespace {

// How the child reports, besides its answer: exit codes the parent recognises.
constexpr int exit_forbidden = 159; // the SIGSYS handler ran (128 + SIGSYS)
constexpr int exit_no_filter = 158; // the filter could not be installed
constexpr int exit_orphan = 157;    // the parent was gone before PR_SET_PDEATHSIG took hold
constexpr int exit_no_landlock = 156; // the Landlock ruleset could not be enforced

constexpr std::size_t max_message = 4096;

// Shared between parent and child (MAP_SHARED), written by the child only.
struct Report {
    std::atomic<int> syscall_nr{-1};
    std::atomic<int> install_errno{0};
    std::atomic<int> landlock_errno{0};
};
static_assert(std::atomic<int>::is_always_lock_free, "the SIGSYS handler stores without locks");

Report *child_report = nullptr; // in the child only

extern "C" void on_sigsys(int, siginfo_t *si, void *) {
    if (child_report) child_report->syscall_nr.store(si->si_syscall, std::memory_order_relaxed);
    _exit(exit_forbidden);
}

/// Escapes control characters and bounds the length: the child's message is untrusted.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, max_message)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) out += "\\x" + std::string(1, "0123456789abcdef"[u >> 4]) + "0123456789abcdef"[u & 15];
        else out += c;
    }
    if (s.size() > max_message) out += "...";
    return out;
}

bool write_all(int fd, std::string_view s) noexcept {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void set_limit(int resource, std::uint64_t value) noexcept {
    rlimit rl{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    if (resource == RLIMIT_CPU) rl.rlim_max = static_cast<rlim_t>(value + 5); // SIGXCPU first, SIGKILL after
    (void)::setrlimit(resource, &rl);
}

/// Moves `fd` above the standard descriptors, which the child points at /dev/null (fjordd may
/// run with 0-2 closed, so a pipe can get one of them).
Status above_stdio(unique_fd &fd) {
    if (!fd || fd.get() > 2) return {};
    unique_fd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
    if (!moved) return fail_errno("fcntl F_DUPFD_CLOEXEC");
    fd = std::move(moved);
    return {};
}

/// Closes `fd` unless it is a regular file or a folder: libgit2 keeps pack files open (and
/// mmapped) and reads them again in the child, so those stay. Everything else the child
/// inherited from fjordd goes: sockets (the sd-bus connection to systemd, fjordctl's control
/// connection, the journal, curl's connections), terminals, pipes, devices, event descriptors.
void close_if_not_file(int fd) noexcept {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) return;
    ::close(fd);
}

/// fds 0-2 become /dev/null, and every inherited descriptor that is not a file or folder is
/// closed, except `keep1`, `keep2` and `keep3` (the answer pipe, the Landlock ruleset, limits.keep_fd).
/// Async-signal-safe.
void quiet_descriptors(int keep1, int keep2, int keep3) noexcept {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd <= 2; ++fd) {
        if (fd == null) continue;
        if (null < 0 || ::dup2(null, fd) < 0) ::close(fd);
    }
    if (null > 2) ::close(null);
    auto skip = [&](long fd) { return fd <= 2 || fd == keep1 || fd == keep2 || fd == keep3; };
    int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) { // no /proc: try every number up to the limit (bounded)
        rlimit rl{};
        long max = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? static_cast<long>(std::min<rlim_t>(rl.rlim_cur, 1 << 16)) : 1024;
        for (long fd = 3; fd < max; ++fd)
            if (!skip(fd)) close_if_not_file(static_cast<int>(fd));
        return;
    }
    alignas(8) char buf[4096];
    for (;;) {
        long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            auto *d = reinterpret_cast<dirent64 *>(buf + off);
            off += d->d_reclen;
            long fd = 0;
            const char *c = d->d_name;
            if (*c < '0' || *c > '9') continue;
            for (; *c >= '0' && *c <= '9' && fd < (1L << 30); ++c) fd = fd * 10 + (*c - '0');
            if (*c == '\0' && fd != dir && !skip(fd)) close_if_not_file(static_cast<int>(fd));
        }
    }
    ::close(dir);
}

/// The child's side: never returns.
[[noreturn]] void child_main(pid_t parent, int out, int ruleset, Report *report, const std::string &program,
                             const SandboxLimits &limits, const SandboxWork &work, const char *name) noexcept {
    // Dies with fjordd (crash_torture SIGKILLs it), and checks it was not already too late.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Named for ps, top and the OOM killer's log: fjord-render, fjord-fetch, fjord-poll...
    ::prctl(PR_SET_NAME, name);
    if (::getppid() != parent) _exit(exit_orphan);
    // The child holds what the parent holds (the age identity): no core dump, no ptrace by peers.
    set_limit(RLIMIT_CORE, 0);
    ::prctl(PR_SET_DUMPABLE, 0);
    if (limits.max_memory) set_limit(RLIMIT_AS, limits.max_memory);
    if (limits.cpu_seconds) set_limit(RLIMIT_CPU, limits.cpu_seconds);
    if (limits.no_file_writes) set_limit(RLIMIT_FSIZE, 0);
    // Nothing of fjordd's to talk to: the answer travels over `out` and `report` only.
    quiet_descriptors(out, ruleset, limits.keep_fd);

    // A crash is the kernel's to report (the parent names the signal): inherited handlers (a
    // test framework's, say) would run outside the filter's allow-list.
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP}) ::signal(sig, SIG_DFL);
    child_report = report;
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSYS, &sa, nullptr);
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    ::sigprocmask(SIG_UNBLOCK, &sys, nullptr);
    if (ruleset >= 0) {
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (int err = landlock_enforce(ruleset); err != 0) {
            report->landlock_errno.store(err);
            _exit(exit_no_landlock);
        }
        ::close(ruleset);
    }
    if (int err = seccomp_install(program); err != 0) {
        report->install_errno.store(err);
        _exit(exit_no_filter);
    }

    // The answer: 'O' and the bytes, or 'E', the error's code as one byte, and its message.
    std::string error;
    try {
        auto r = work();
        if (r) _exit(write_all(out, "O") && write_all(out, *r) ? 0 : 1);
        error = std::string("E") + static_cast<char>(r.error().code) + r.error().message;
    } catch (const std::bad_alloc &) {
        error = std::string("E") + static_cast<char>(Errc::killed) + "out of memory (the child's limit is " +
                std::to_string(limits.max_memory >> 20) + " MiB)";
    } catch (const std::exception &e) {
        error = std::string("E") + static_cast<char>(Errc::internal) + "unexpected exception: " + e.what();
    } catch (...) {
        error = std::string("E") + static_cast<char>(Errc::internal) + "unexpected exception";
    }
    _exit(write_all(out, error) ? 0 : 1);
}

std::string signal_name(int sig) {
    const char *abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

/// Kills and reaps the child (it is not reaped yet, so its pid cannot have been reused).
void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

struct SharedReport {
    Report *p = nullptr;
    ~SharedReport() {
        if (p) ::munmap(p, sizeof(Report));
    }
};

} // namespace

Result<std::string> run_sandboxed(const std::string &what, SeccompProfile profile, const SandboxLimits &limits,
                                  const SandboxWork &work) {
    const std::string who = what + " sandbox";
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return fail_errno(who + ": pipe");
    unique_fd in(fds[0]), out(fds[1]);
    if (auto ok = above_stdio(out); !ok) return fail(std::move(ok.error()).context(who));
    auto program = seccomp_program(profile, out.get());
    if (!program) return fail(std::move(program.error()).context(who));
    SharedReport shared;
    void *mem = ::mmap(nullptr, sizeof(Report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return fail_errno(who + ": mmap");
    shared.p = new (mem) Report;
    auto ruleset = landlock_ruleset(limits.writable_dir);
    if (!ruleset) return fail(std::move(ruleset.error()).context(who));
    if (auto ok = above_stdio(*ruleset); !ok) return fail(std::move(ok.error()).context(who));

    // "fjord-" and the first word of `what`, within the kernel's 15 bytes, made before the fork.
    std::string name = "fjord-" + what.substr(0, what.find(' '));
    name.resize(std::min<std::size_t>(name.size(), 15));
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno(who + ": fork");
    if (pid == 0) {
        in.reset();
        child_main(parent, out.get(), ruleset->get(), shared.p, *program, limits, work, name.c_str());
    }
    out.reset();
    ruleset->reset();
    unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) {
        int err = errno;
        kill_and_reap(pid);
        return fail_errno(who + ": pidfd_open", err);
    }
    auto deadline = std::chrono::steady_clock::now() + limits.timeout;
    auto timed_out = [&] {
        kill_and_reap(pid);
        return fail(Errc::killed, who + ": the child did not finish within " +
                                        std::to_string(limits.timeout.count() / 1000.0).substr(0, 6) + " s; killed");
    };

    // Read the answer until EOF, bounded in size and time.
    std::string answer;
    // The frame's tag, then the answer (checked against max_output below) or an error, whose
    // message is cut to max_message anyway.
    const std::uint64_t cap = std::max<std::uint64_t>(limits.max_output + 1, 64 << 10);
    char buf[65536];
    for (;;) {
        pollfd p{in.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, left_ms(deadline));
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) {
            int err = errno;
            kill_and_reap(pid);
            return fail_errno(who + ": poll", err);
        }
        if (rc == 0) return timed_out();
        ssize_t n = ::read(in.get(), buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) {
            int err = errno;
            kill_and_reap(pid);
            return fail_errno(who + ": read", err);
        }
        if (n == 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer.size() > cap || (answer[0] == 'O' && answer.size() - 1 > limits.max_output)) {
            kill_and_reap(pid);
            return fail(Errc::killed, who + ": the child's answer passed " + std::to_string(limits.max_output) +
                                            " bytes; killed");
        }
    }
    // EOF: the child is exiting (or closed its end and lingers); wait for it within the deadline.
    for (;;) {
        pollfd p{pidfd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, left_ms(deadline));
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) return timed_out();
        break;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno == EINTR) continue;
        return fail_errno(who + ": waitpid");
    }

    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        // SIGSYS as a kill, not through the handler: the call came while signals were blocked.
        if (sig == SIGSYS) return fail(Errc::killed, who + ": child killed by a forbidden system call (made with signals blocked, so not named)");
        if (sig == SIGXCPU || (sig == SIGKILL && limits.cpu_seconds))
            return fail(Errc::killed, who + ": child killed by " + signal_name(sig) + " (CPU limit " +
                                            std::to_string(limits.cpu_seconds) + " s?)");
        return fail(Errc::killed, who + ": child killed by " + signal_name(sig));
    }
    int code = WEXITSTATUS(status);
    if (code == exit_forbidden) {
        int nr = shared.p->syscall_nr.load();
        std::string name = nr >= 0 ? syscall_name(nr) : "";
        return fail(Errc::killed, who + ": child killed by forbidden system call " + (name.empty() ? "?" : name) + " (" +
                                        std::to_string(nr) + ")");
    }
    if (code == exit_no_landlock)
        return fail(Errc::internal, who + ": cannot enforce the Landlock ruleset: " + std::strerror(shared.p->landlock_errno.load()));
    if (code == exit_no_filter)
        return fail(Errc::internal, who + ": cannot install the seccomp filter: " + std::strerror(shared.p->install_errno.load()));
    if (code != 0) return fail(Errc::killed, who + ": child exited with status " + std::to_string(code));
    if (answer.empty()) return fail(Errc::internal, who + ": malformed answer from the child (empty)");
    if (answer[0] == 'O') {
        answer.erase(0, 1);
        return answer;
    }
    if (answer[0] == 'E' && answer.size() >= 2) {
        auto c = static_cast<unsigned char>(answer[1]);
        if (c > static_cast<unsigned char>(Errc::internal) || c == 0)
            return fail(Errc::internal, who + ": malformed answer from the child (error code " + std::to_string(c) + ")");
        return fail(static_cast<Errc>(c), printable(std::string_view(answer).substr(2)));
    }
    return fail(Errc::internal, who + ": malformed answer from the child");
}

} // namespace fjord
