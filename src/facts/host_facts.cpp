#include "facts/host_facts.hpp"

#include "util/hash.hpp"
#include "util/host.hpp"
#include <cctype>

namespace fjord {
namespace {

void serialise(const VarValue &v, std::string &out) {
    out += std::to_string(int(v.kind)) + ":" + std::to_string(v.text.size()) + ":" + v.text;
    out += "[" + std::to_string(v.items.size());
    for (const auto &e : v.items) serialise(e, out);
    out += "{" + std::to_string(v.fields.size());
    for (const auto &[k, e] : v.fields) {
        out += std::to_string(k.size()) + ":" + k;
        serialise(e, out);
    }
}

} // namespace

std::string virtualization_id(const prereq::VirtInfo &v) {
    using prereq::VirtKind;
    switch (v.kind) {
    case VirtKind::none: return "none";
    case VirtKind::kvm: return "kvm";
    case VirtKind::tcg: return "qemu";
    case VirtKind::unknown: return "unknown";
    case VirtKind::other: break;
    }
    static const std::pair<const char *, const char *> words[] = {
        {"QEMU", "qemu"},           {"Hyper-V", "microsoft"}, {"VMware", "vmware"},      {"Xen", "xen"},
        {"VirtualBox", "oracle"},   {"Parallels", "parallels"}, {"bhyve", "bhyve"},     {"ACRN", "acrn"},
        {"QNX", "qnx"},             {"SRE", "sre"},           {"Apple Virtualization", "apple"},
        {"Amazon EC2", "amazon"},   {"Bochs", "bochs"},
    };
    for (const auto &[name, word] : words)
        if (v.name == name) return word;
    return "vm-other";
}

VarTable host_facts() {
    VarTable f;
    auto addrs = host_addresses();
    set_var(f, "host.name", VarValue::string(host_name()));
    set_var(f, "host.machine_id", VarValue::string(machine_id()));
    set_var(f, "host.ipv4", VarValue::strings(addrs.ipv4));
    set_var(f, "host.ipv6", VarValue::strings(addrs.ipv6));
    // Read once a process: the hypervisor does not change under a running fjordd, and reading
    // it (a cpuid, which traps to the hypervisor, and four sysfs files) came at every poll.
    static const std::string virt = virtualization_id(prereq::classify_virt(prereq::read_virt()));
    set_var(f, "host.virtualization", VarValue::string(virt));
    return f;
}

std::string facts_key(const VarTable &facts) {
    std::string s;
    for (const auto &[k, v] : facts) {
        if (k == "fjord") continue;
        s += std::to_string(k.size()) + ":" + k;
        serialise(v, s);
    }
    return blob_id(s);
}

bool uses_generation(const std::set<std::string> &used) {
    for (const auto &n : used)
        if (n == "fjord" || n == "fjord.generation" || n.rfind("fjord.generation.", 0) == 0) return true;
    return false;
}

} // namespace fjord
