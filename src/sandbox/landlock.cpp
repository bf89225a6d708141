#include "sandbox/landlock.hpp"

#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace fjord {
namespace {

// The UAPI, spelled out: Debian 12's linux-libc-dev (6.1) lacks the rights after ABI 2, and
// these values are fixed by the kernel's ABI.
constexpr std::uint64_t fs_write_file = 1ull << 1, fs_remove_dir = 1ull << 4, fs_remove_file = 1ull << 5,
                        fs_make_char = 1ull << 6, fs_make_dir = 1ull << 7, fs_make_reg = 1ull << 8,
                        fs_make_sock = 1ull << 9, fs_make_fifo = 1ull << 10, fs_make_block = 1ull << 11,
                        fs_make_sym = 1ull << 12;
constexpr std::uint64_t fs_refer = 1ull << 13;     // ABI 2: rename and link across folders
constexpr std::uint64_t fs_truncate = 1ull << 14;  // ABI 3
constexpr std::uint64_t fs_ioctl_dev = 1ull << 15; // ABI 5
constexpr std::uint64_t net_bind_tcp = 1ull << 0;  // ABI 4
constexpr std::uint64_t scope_abstract_unix = 1ull << 0, scope_signal = 1ull << 1; // ABI 6
constexpr unsigned create_ruleset_version = 1u << 0;
constexpr int rule_path_beneath = 1;

struct RulesetAttr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net; // ABI 4
    std::uint64_t scoped;             // ABI 6
};
struct __attribute__((packed)) PathBeneathAttr {
    std::uint64_t allowed_access;
    std::int32_t parent_fd;
};

} // namespace

int landlock_abi() {
    static const int abi = [] {
        long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, create_ruleset_version);
        return v < 0 ? 0 : static_cast<int>(v);
    }();
    return abi;
}

Result<unique_fd> landlock_ruleset(const std::string &writable_dir, const std::vector<std::string> &more_dirs) {
    const int abi = landlock_abi();
    if (abi < 1) return unique_fd();
    std::uint64_t writes = fs_write_file | fs_remove_dir | fs_remove_file | fs_make_char | fs_make_dir | fs_make_reg |
                           fs_make_sock | fs_make_fifo | fs_make_block | fs_make_sym;
    if (abi >= 2) writes |= fs_refer;
    if (abi >= 3) writes |= fs_truncate;
    RulesetAttr attr{};
    attr.handled_access_fs = writes | (abi >= 5 ? fs_ioctl_dev : 0);
    std::size_t size = sizeof(std::uint64_t);
    if (abi >= 4) attr.handled_access_net = net_bind_tcp, size = 2 * sizeof(std::uint64_t);
    if (abi >= 6) attr.scoped = scope_abstract_unix | scope_signal, size = sizeof attr;
    unique_fd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
    if (!ruleset) return fail_errno("landlock: create a ruleset");
    std::vector<std::string> dirs = more_dirs;
    if (!writable_dir.empty()) dirs.insert(dirs.begin(), writable_dir);
    for (const auto &d : dirs) {
        unique_fd dir(::open(d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir) return fail_errno("landlock: open " + d);
        PathBeneathAttr rule{writes, dir.get()};
        if (::syscall(SYS_landlock_add_rule, ruleset.get(), rule_path_beneath, &rule, 0) < 0)
            return fail_errno("landlock: allow writes beneath " + d);
    }
    return ruleset;
}

int landlock_enforce(int ruleset) noexcept {
    if (::syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) return errno;
    return 0;
}

} // namespace fjord
