#include "prereq/virt.hpp"

#include "util/fs.hpp"
#include <algorithm>
#include <cstring>
#include <string_view>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace fjord::prereq {
namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && s[i] == ' ') ++i;
    return s.substr(i);
}

std::string read_dmi(const std::string &sysfs, const char *name) {
    auto t = read_file(sysfs + "/class/dmi/id/" + name, 64u << 10);
    return t ? trim(*t) : std::string{};
}

// CPUID vendor ids of hypervisors (leaf 0x40000000 + n*0x100: EBX, ECX, EDX).
struct Named {
    std::string_view key, name;
    VirtKind kind;
};
constexpr Named cpuid_table[] = {
    {"KVMKVMKVM", "KVM", VirtKind::kvm},          {"Linux KVM Hv", "KVM", VirtKind::kvm},
    {"TCGTCGTCGTCG", "QEMU/TCG", VirtKind::tcg},   {"Microsoft Hv", "Hyper-V", VirtKind::other},
    {"VMwareVMware", "VMware", VirtKind::other},  {"XenVMMXenVMM", "Xen", VirtKind::other},
    {"VBoxVBoxVBox", "VirtualBox", VirtKind::other}, {"prl hyperv", "Parallels", VirtKind::other},
    {"lrpepyh  vr", "Parallels", VirtKind::other}, {"bhyve bhyve", "bhyve", VirtKind::other},
    {"ACRNACRNACRN", "ACRN", VirtKind::other},    {"QNXQVMBSQG", "QNX", VirtKind::other},
    {"SRESRESRESRE", "SRE", VirtKind::other},     {"Apple VZ", "Apple Virtualization", VirtKind::other},
};

// DMI strings that name a virtual machine (prefixes, as systemd-detect-virt matches them).
constexpr Named dmi_table[] = {
    {"KVM", "KVM", VirtKind::kvm},
    {"OpenStack", "KVM (OpenStack)", VirtKind::kvm},
    {"KubeVirt", "KVM (KubeVirt)", VirtKind::kvm},
    {"Amazon EC2", "Amazon EC2", VirtKind::other},
    {"Google Compute Engine", "Google Compute Engine", VirtKind::kvm},
    {"QEMU", "QEMU", VirtKind::other},
    {"VMware", "VMware", VirtKind::other},
    {"VMW", "VMware", VirtKind::other},
    {"innotek GmbH", "VirtualBox", VirtKind::other},
    {"VirtualBox", "VirtualBox", VirtKind::other},
    {"Xen", "Xen", VirtKind::other},
    {"Bochs", "Bochs", VirtKind::other},
    {"Parallels", "Parallels", VirtKind::other},
    {"BHYVE", "bhyve", VirtKind::other},
    {"Hyper-V", "Hyper-V", VirtKind::other},
    {"Apple Virtualization", "Apple Virtualization", VirtKind::other},
};

const Named *match_dmi(const VirtFacts &f) {
    for (const std::string *s : {&f.dmi_sys_vendor, &f.dmi_product, &f.dmi_board_vendor, &f.dmi_bios_vendor})
        for (const auto &n : dmi_table)
            if (!s->empty() && s->compare(0, n.key.size(), n.key) == 0) return &n;
    // Hyper-V's firmware says "Microsoft Corporation" / "Virtual Machine".
    if (f.dmi_sys_vendor == "Microsoft Corporation" && f.dmi_product == "Virtual Machine") {
        static constexpr Named hv{"", "Hyper-V", VirtKind::other};
        return &hv;
    }
    return nullptr;
}

} // namespace

std::optional<CpuidRegs> cpuid_instruction(std::uint32_t leaf) {
#if defined(__x86_64__) || defined(__i386__)
    CpuidRegs r;
    if (leaf >= 0x40000000u && leaf < 0x80000000u) {
        __cpuid(leaf, r.eax, r.ebx, r.ecx, r.edx);
        return r;
    }
    if (__get_cpuid(leaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return r;
#else
    (void)leaf;
#endif
    return std::nullopt;
}

VirtFacts read_virt(const std::string &sysfs, const Cpuid &cpuid) {
    VirtFacts f;
    if (auto l1 = cpuid(1)) {
        f.cpuid_available = true;
        f.hypervisor_bit = (l1->ecx >> 31) & 1u;
    }
    // The hypervisor leaves mean something only when the hypervisor bit is set; on bare metal
    // they echo other leaves. Linux scans the bases 0x40000000..0x40010000 the same way.
    if (f.hypervisor_bit) {
        for (std::uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
            auto r = cpuid(base);
            if (!r) break;
            char sig[13] = {};
            std::memcpy(sig, &r->ebx, 4);
            std::memcpy(sig + 4, &r->ecx, 4);
            std::memcpy(sig + 8, &r->edx, 4);
            std::string s = trim(std::string(sig, strnlen(sig, 12)));
            if (!s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= 0x20 && ch < 0x7f; }))
                f.signatures.push_back(s);
            if (r->eax < base) break; // the highest leaf of this base says there is nothing further
        }
    }
    f.dmi_sys_vendor = read_dmi(sysfs, "sys_vendor");
    f.dmi_product = read_dmi(sysfs, "product_name");
    f.dmi_board_vendor = read_dmi(sysfs, "board_vendor");
    f.dmi_bios_vendor = read_dmi(sysfs, "bios_vendor");
    return f;
}

VirtInfo classify_virt(const VirtFacts &f) {
    auto dmi = match_dmi(f);
    std::string dmi_text = f.dmi_sys_vendor.empty() ? "" : "DMI " + f.dmi_sys_vendor + (f.dmi_product.empty() ? "" : " / " + f.dmi_product);
    if (f.hypervisor_bit) {
        for (const auto &want : {VirtKind::kvm, VirtKind::tcg, VirtKind::other})
            for (const auto &s : f.signatures)
                for (const auto &n : cpuid_table)
                    if (n.kind == want && s == n.key) return {n.kind, std::string(n.name), "CPUID " + s};
        if (dmi) return {dmi->kind, std::string(dmi->name), "CPUID hypervisor bit, " + dmi_text};
        std::string sig = f.signatures.empty() ? "no signature" : "signature \"" + f.signatures.front() + "\"";
        return {VirtKind::other, "unknown hypervisor", "CPUID hypervisor bit, " + sig};
    }
    // Some hypervisors hide the CPUID bit (kvm=off, -hypervisor); the firmware still tells.
    if (dmi) return {dmi->kind, std::string(dmi->name), dmi_text + (f.cpuid_available ? "; CPUID hides the hypervisor" : "")};
    // Off x86 without firmware tables there is nothing to go by: say so rather than guess.
    if (!f.cpuid_available && f.dmi_sys_vendor.empty()) return {VirtKind::unknown, "unknown", "no CPUID and no DMI to tell"};
    return {VirtKind::none, "bare metal", f.cpuid_available ? "no hypervisor bit in CPUID" : dmi_text};
}

} // namespace fjord::prereq
