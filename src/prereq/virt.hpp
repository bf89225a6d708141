#pragma once
// Which hypervisor runs this machine, from the CPU (CPUID) and the firmware (DMI). Container
// marker files (/.dockerenv, /run/.containerenv) are never read: they say nothing about the
// hardware, and a stray one is why systemd-detect-virt says "docker" on a KVM guest.
#include "prereq/types.hpp"
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace fjord::prereq {

/// What kind of machine, as the checks judge it.
enum class VirtKind { none, kvm, tcg, other, unknown };

/// A classification with the evidence behind it.
struct VirtInfo {
    VirtKind kind = VirtKind::none;
    std::string name;     ///< "KVM", "QEMU/TCG", "Hyper-V", "bare metal", ...
    std::string evidence; ///< "CPUID KVMKVMKVM", "DMI QEMU", "no hypervisor bit"
};

/// The four registers one CPUID leaf answers with.
struct CpuidRegs {
    std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

/// Runs CPUID for a leaf; nullopt when there is no such leaf to ask (off x86, or a basic or
/// extended leaf above the CPU's highest). Tests pass a fake CPU instead of the real one.
using Cpuid = std::function<std::optional<CpuidRegs>(std::uint32_t leaf)>;

/// The CPU's own CPUID instruction. Hypervisor leaves (0x40000000..) are run as asked: the CPU
/// has no highest-leaf answer for them, they mean something only under the hypervisor bit.
[[nodiscard]] std::optional<CpuidRegs> cpuid_instruction(std::uint32_t leaf);

/// Reads CPUID through `cpuid` and /sys/class/dmi/id under `sysfs`.
[[nodiscard]] VirtFacts read_virt(const std::string &sysfs = "/sys", const Cpuid &cpuid = cpuid_instruction);
/// Pure: the hypervisor named by CPUID wins (KVM at any base leaf first, since KVM may also
/// expose a Hyper-V interface at 0x40000000); DMI names it when CPUID does not.
[[nodiscard]] VirtInfo classify_virt(const VirtFacts &f);

} // namespace fjord::prereq
