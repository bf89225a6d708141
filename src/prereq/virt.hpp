#pragma once
// Which hypervisor runs this machine, from the CPU (CPUID) and the firmware (DMI). Container
// marker files (/.dockerenv, /run/.containerenv) are never read: they say nothing about the
// hardware, and a stray one is why systemd-detect-virt says "docker" on a KVM guest.
#include "prereq/types.hpp"
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

/// Reads CPUID (x86 only) and /sys/class/dmi/id under `sysfs`.
[[nodiscard]] VirtFacts read_virt(const std::string &sysfs = "/sys");
/// Pure: the hypervisor named by CPUID wins (KVM at any base leaf first, since KVM may also
/// expose a Hyper-V interface at 0x40000000); DMI names it when CPUID does not.
[[nodiscard]] VirtInfo classify_virt(const VirtFacts &f);

} // namespace fjord::prereq
