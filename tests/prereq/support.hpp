#pragma once
// Helpers for prereq tests: a fake sysfs tree (in the shared temp folder) laid out
// as the kernel lays out /sys (relative symlinks under dev/block and slaves/), so the
// resolver walks it exactly as it walks the real one, and a fake CPU to answer CPUID.
#include "prereq/virt.hpp"
#include "support/temp_dir.hpp"
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace fjord::test {

inline void write(const std::filesystem::path &p, const std::string &text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

/// A sysfs tree in a temp folder.
struct FakeSys {
    TempDir dir;
    std::filesystem::path root{dir.path};

    /// A block device at DEVPATH (relative to the root, e.g. "devices/virtual/block/dm-0"),
    /// reachable as dev/block/MAJMIN. With a scheduler line it gets a queue/ (whole disks do).
    std::filesystem::path device(const std::string &devpath, const std::string &majmin, const std::string &scheduler = "",
                                 const std::string &rotational = "0") {
        auto d = root / devpath;
        std::filesystem::create_directories(d);
        write(d / "dev", majmin + "\n");
        if (!scheduler.empty()) {
            write(d / "queue/scheduler", scheduler + "\n");
            write(d / "queue/rotational", rotational + "\n");
        }
        link(root / "dev/block" / majmin, d);
        return d;
    }
    /// A partition NAME of the whole disk at DISK.
    std::filesystem::path partition(const std::filesystem::path &disk, const std::string &name, const std::string &majmin) {
        auto rel = std::filesystem::relative(disk / name, root).string();
        auto p = device(rel, majmin);
        write(p / "partition", "1\n");
        return p;
    }
    /// HOLDER/slaves/NAME -> SLAVE, as device-mapper and md show what they are built on.
    void slave(const std::filesystem::path &holder, const std::filesystem::path &slave) {
        link(holder / "slaves" / slave.filename(), slave);
    }
    static void link(const std::filesystem::path &at, const std::filesystem::path &target) {
        std::filesystem::create_directories(at.parent_path());
        std::filesystem::create_directory_symlink(std::filesystem::relative(target, at.parent_path()), at);
    }
};

/// A CPU answering CPUID as a hypervisor's guest sees it: leaf 1 with the hypervisor bit (set
/// by default when there are vendor ids), and VENDORS[i] (12 bytes, NUL-padded as the CPU pads
/// them) at leaf 0x40000000 + i*0x100. Past the last vendor every leaf is zeros, whose highest
/// leaf (eax 0) ends read_virt's scan.
inline prereq::Cpuid fake_cpu(std::vector<std::string> vendors, std::optional<bool> hypervisor_bit = std::nullopt) {
    bool bit = hypervisor_bit.value_or(!vendors.empty());
    return [vendors = std::move(vendors), bit](std::uint32_t leaf) -> std::optional<prereq::CpuidRegs> {
        prereq::CpuidRegs r;
        if (leaf == 1) {
            r.ecx = bit ? 1u << 31 : 0;
            return r;
        }
        if (leaf < 0x40000000u || leaf >= 0x40010000u || leaf % 0x100 != 0) return r;
        std::size_t i = (leaf - 0x40000000u) / 0x100;
        if (i >= vendors.size()) return r;
        char sig[12] = {};
        std::memcpy(sig, vendors[i].data(), std::min<std::size_t>(12, vendors[i].size()));
        std::memcpy(&r.ebx, sig, 4);
        std::memcpy(&r.ecx, sig + 4, 4);
        std::memcpy(&r.edx, sig + 8, 4);
        r.eax = leaf + 1; // this base's highest leaf: the scan goes on to the next base
        return r;
    };
}

/// A CPU without CPUID (arm64, riscv): every leaf is missing.
inline prereq::Cpuid no_cpuid() {
    return [](std::uint32_t) { return std::optional<prereq::CpuidRegs>(); };
}

} // namespace fjord::test
