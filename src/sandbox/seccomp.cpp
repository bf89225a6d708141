#include "sandbox/seccomp.hpp"

#include "util/unique_fd.hpp"
#include <fcntl.h>
#include <initializer_list>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <map>
#include <memory>
#include <mutex>
#include <sched.h>
#include <cstdint>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <type_traits>
#include <unistd.h>

namespace fjord {
namespace {

// libseccomp's context is a void*: owned here, the only file that adapts libseccomp.
struct scmp_deleter {
    void operator()(void *ctx) const { seccomp_release(ctx); }
};
using scmp_filter_ptr = std::unique_ptr<std::remove_pointer_t<scmp_filter_ctx>, scmp_deleter>;

// The system calls the children make, grouped by what needs them: from strace -f of fjordd
// over local paths and file:// (templates, secrets, includes), then every integration suite
// (git://, ssh auth failures) run with the filters on. glibc picks among variants
// (newfstatat/statx, open/openat), so both of a pair are listed. A successful https fetch has
// not been traced: a call it needs and this list lacks is named in the error.
constexpr std::initializer_list<int> common_calls = {
    // memory: malloc, libgit2's pack windows (mmap of pack files), dlopen'ed NSS modules
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
    // locks (libgit2's mutexes), time (libgit2 timers, mbedTLS), randomness (hash seeds, TLS)
    SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(sched_yield),
    // reading files and folders: the Git cache, a checkout (fjordctl render), keys and CA files
    SCMP_SYS(close), SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(lseek), SCMP_SYS(fstat),
    SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(getdents64),
    SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
    SCMP_SYS(fcntl), SCMP_SYS(getcwd),
    // identity (libgit2's ownership check of the repository), limits
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
    SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(prlimit64), SCMP_SYS(uname),
    // signals: the SIGSYS handler's return path, masks glibc sets around some calls
    SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
    // the end
    SCMP_SYS(exit), SCMP_SYS(exit_group),
};

// The network, for poll and fetch: TCP (git://, ssh, https) and DNS over UDP. socket() and
// ioctl() are allowed by argument, below. write/writev: OpenSSL writes to its socket with them.
constexpr std::initializer_list<int> net_calls = {
    SCMP_SYS(connect), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(sendto),
    SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(bind), SCMP_SYS(shutdown),
    SCMP_SYS(write), SCMP_SYS(writev),
};

// Writing the Git cache (fetch only): packs, indexes, loose objects, refs and their locks.
// openat/open and the chmod family are allowed by argument, below. Landlock (sandbox/landlock.hpp)
// keeps these beneath the cache where the kernel has it.
constexpr std::initializer_list<int> cache_write_calls = {
    SCMP_SYS(pwrite64), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(rename),
    SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rmdir),
    SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(umask), SCMP_SYS(utimensat), SCMP_SYS(msync),
    // threads of libgit2's pack builder (clone itself is allowed with CLONE_THREAD only, below)
    SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_getaffinity),
};

// The ioctl requests the network children may make: socket queries and non-blocking mode
// (glibc, OpenSSL, libssh2), isatty(). Anything else (TIOCSTI, TIOCLINUX, device ioctls) kills.
// The request is compared as 64 bits: junk in the upper half (the kernel ignores it) matches none.
constexpr unsigned long allowed_ioctls[] = {FIONREAD, FIONBIO, TCGETS, FIOCLEX, FIONCLEX};

// A mode without setuid/setgid bits.
constexpr scmp_datum_t set_id_bits = S_ISUID | S_ISGID;

Status add(scmp_filter_ctx ctx, int nr, const char *why, unsigned n = 0, const scmp_arg_cmp *cmp = nullptr,
           std::uint32_t action = SCMP_ACT_ALLOW) {
    int rc = n ? seccomp_rule_add_array(ctx, action, nr, n, cmp) : seccomp_rule_add(ctx, action, nr, 0);
    // -EDOM: a call this architecture does not have (open, stat on some); nothing to allow.
    if (rc < 0 && rc != -EDOM && rc != -EFAULT)
        return fail(Errc::internal, std::string("seccomp: allow ") + why + " " + std::to_string(nr) + ": " + std::strerror(-rc));
    return {};
}

/// openat/open without write access, O_CREAT or O_TRUNC (which create or truncate even read-only).
Status allow_read_only_open(scmp_filter_ctx ctx, const char *why) {
    scmp_arg_cmp read_only[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0)};
    FJORD_TRY(add(ctx, SCMP_SYS(openat), why, 1, read_only));
    scmp_arg_cmp read_only_open[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0)};
    return add(ctx, SCMP_SYS(open), why, 1, read_only_open);
}

/// socket(): AF_INET and AF_INET6 only. Other families (AF_UNIX to nscd or a bus, AF_NETLINK
/// for getaddrinfo's AI_ADDRCONFIG) fail with EAFNOSUPPORT rather than kill, so glibc's name
/// resolution falls back to /etc/hosts and DNS. The family is compared as 64 bits: junk in the
/// upper half (the kernel reads an int) matches no rule and kills.
Status add_socket_rules(scmp_filter_ctx ctx) {
    for (scmp_datum_t family : {AF_INET, AF_INET6}) {
        scmp_arg_cmp is[] = {SCMP_A0(SCMP_CMP_EQ, family)};
        FJORD_TRY(add(ctx, SCMP_SYS(socket), "net", 1, is));
    }
    const auto refuse = SCMP_ACT_ERRNO(EAFNOSUPPORT);
    scmp_arg_cmp below[] = {SCMP_A0(SCMP_CMP_LT, AF_INET)};
    FJORD_TRY(add(ctx, SCMP_SYS(socket), "net", 1, below, refuse));
    scmp_arg_cmp above[] = {SCMP_A0(SCMP_CMP_GT, AF_INET6)};
    FJORD_TRY(add(ctx, SCMP_SYS(socket), "net", 1, above, refuse));
    for (scmp_datum_t family = AF_INET + 1; family < AF_INET6; ++family) {
        scmp_arg_cmp is[] = {SCMP_A0(SCMP_CMP_EQ, family)};
        FJORD_TRY(add(ctx, SCMP_SYS(socket), "net", 1, is, refuse));
    }
    return {};
}

/// Opening for writing and the chmod family, never with a setuid or setgid bit in the mode: a
/// file the child makes cannot become a privileged program. An open without O_CREAT or
/// O_TMPFILE ignores its mode.
Status add_cache_write_rules(scmp_filter_ctx ctx) {
    const scmp_datum_t creates = O_CREAT | (O_TMPFILE & ~O_DIRECTORY);
    scmp_arg_cmp at_no_create[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, creates, 0)};
    FJORD_TRY(add(ctx, SCMP_SYS(openat), "fetch", 1, at_no_create));
    scmp_arg_cmp at_plain_mode[] = {SCMP_A3(SCMP_CMP_MASKED_EQ, set_id_bits, 0)};
    FJORD_TRY(add(ctx, SCMP_SYS(openat), "fetch", 1, at_plain_mode));
    scmp_arg_cmp no_create[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, creates, 0)};
    FJORD_TRY(add(ctx, SCMP_SYS(open), "fetch", 1, no_create));
    scmp_arg_cmp plain_mode_2[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, set_id_bits, 0)};
    FJORD_TRY(add(ctx, SCMP_SYS(open), "fetch", 1, plain_mode_2));
    scmp_arg_cmp plain_mode_1[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, set_id_bits, 0)};
    FJORD_TRY(add(ctx, SCMP_SYS(chmod), "fetch", 1, plain_mode_1));
    FJORD_TRY(add(ctx, SCMP_SYS(fchmod), "fetch", 1, plain_mode_1));
    FJORD_TRY(add(ctx, SCMP_SYS(fchmodat), "fetch", 1, plain_mode_2));
    FJORD_TRY(add(ctx, SCMP_SYS(mkdir), "fetch", 1, plain_mode_1));
    return add(ctx, SCMP_SYS(mkdirat), "fetch", 1, plain_mode_2);
}

Result<std::string> build(SeccompProfile profile, int out_fd) {
    scmp_filter_ptr ctx(seccomp_init(SCMP_ACT_TRAP));
    if (!ctx) return fail(Errc::internal, "seccomp_init failed");
    for (int nr : common_calls) FJORD_TRY(add(ctx.get(), nr, "common"));
    if (profile == SeccompProfile::render) {
        // No network, no file writes, no descriptor but the pipe to write to. openat only
        // read-only (and without O_CREAT/O_TRUNC, which create or truncate even then);
        // RLIMIT_FSIZE = 0 in the child backs this up.
        const auto fd = static_cast<scmp_datum_t>(out_fd);
        scmp_arg_cmp to_pipe[] = {SCMP_A0(SCMP_CMP_EQ, fd)};
        FJORD_TRY(add(ctx.get(), SCMP_SYS(write), "render", 1, to_pipe));
        FJORD_TRY(add(ctx.get(), SCMP_SYS(writev), "render", 1, to_pipe));
        FJORD_TRY(allow_read_only_open(ctx.get(), "render"));
    } else {
        for (int nr : net_calls) FJORD_TRY(add(ctx.get(), nr, "net"));
        FJORD_TRY(add_socket_rules(ctx.get()));
        for (unsigned long req : allowed_ioctls) {
            scmp_arg_cmp is_req[] = {SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(req))};
            FJORD_TRY(add(ctx.get(), SCMP_SYS(ioctl), "net", 1, is_req));
        }
        if (profile == SeccompProfile::poll) {
            // The ref advertisement needs no file written: read-only opens only.
            FJORD_TRY(allow_read_only_open(ctx.get(), "poll"));
        } else {
            for (int nr : cache_write_calls) FJORD_TRY(add(ctx.get(), nr, "fetch"));
            FJORD_TRY(add_cache_write_rules(ctx.get()));
            // Threads, not processes: libgit2's pack builder (a file:// or local remote) starts
            // one per CPU. clone3 hides its flags from seccomp behind a pointer, so it answers
            // ENOSYS and glibc falls back to clone, allowed with CLONE_THREAD only.
            if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc < 0)
                return fail(Errc::internal, std::string("seccomp: clone3: ") + std::strerror(-rc));
            scmp_arg_cmp thread[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)};
            FJORD_TRY(add(ctx.get(), SCMP_SYS(clone), "fetch", 1, thread));
        }
    }
    // The program goes through a memfd: libseccomp 2.5 exports only to a descriptor.
    unique_fd mem(::memfd_create("fjord-seccomp", MFD_CLOEXEC));
    if (!mem) return fail_errno("seccomp: memfd_create");
    if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0)
        return fail(Errc::internal, std::string("seccomp: export the filter: ") + std::strerror(-rc));
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0 || size > (1 << 20))
        return fail(Errc::internal, "seccomp: the exported filter has a bad size");
    std::string prog(static_cast<std::size_t>(size), '\0');
    if (::pread(mem.get(), prog.data(), prog.size(), 0) != size) return fail_errno("seccomp: read the filter");
    return prog;
}

} // namespace

const char *seccomp_profile_name(SeccompProfile p) {
    switch (p) {
    case SeccompProfile::poll: return "poll";
    case SeccompProfile::fetch: return "fetch";
    case SeccompProfile::render: return "render";
    }
    return "?";
}

Result<std::string> seccomp_program(SeccompProfile profile, int out_fd) {
    // Compiled once per profile and pipe descriptor number (the lowest free one, so it repeats).
    static std::mutex mu;
    static std::map<std::pair<int, int>, std::string> cache;
    std::lock_guard lock(mu);
    auto key = std::make_pair(static_cast<int>(profile), profile == SeccompProfile::render ? out_fd : -1);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    auto prog = build(profile, out_fd);
    if (!prog) return prog;
    if (cache.size() > 16) cache.clear();
    return cache.emplace(key, std::move(*prog)).first->second;
}

int seccomp_install(const std::string &program) noexcept {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno;
    sock_fprog fprog{};
    fprog.len = static_cast<unsigned short>(program.size() / sizeof(sock_filter));
    fprog.filter = reinterpret_cast<sock_filter *>(const_cast<char *>(program.data()));
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0) return errno;
    return 0;
}

std::string syscall_name(int nr) {
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (!name) return "";
    std::string out = name;
    ::free(name);
    return out;
}

} // namespace fjord
