#include "prereq/virt.hpp"
#include "support.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <map>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

using namespace fjord;
using namespace fjord::prereq;
using fjord::test::fake_cpu;
using fjord::test::FakeSys;
using fjord::test::no_cpuid;

TEST_CASE("virtualization: read_virt reads the vendor ids of the CPU it is given") {
    FakeSys sys; // no class/dmi: only CPUID decides
    std::string root = sys.root.string();

    // bhyve pads its id with a space, KVM with NULs: both are trimmed to what the table holds.
    VirtFacts bhyve = read_virt(root, fake_cpu({"bhyve bhyve "}));
    CHECK(bhyve.cpuid_available);
    CHECK(bhyve.hypervisor_bit);
    CHECK(bhyve.signatures == std::vector<std::string>{"bhyve bhyve"});
    CHECK(classify_virt(bhyve).kind == VirtKind::other);
    CHECK(classify_virt(bhyve).name == "bhyve");
    CHECK(classify_virt(bhyve).evidence == "CPUID bhyve bhyve");

    VirtFacts kvm = read_virt(root, fake_cpu({"KVMKVMKVM"}));
    CHECK(kvm.signatures == std::vector<std::string>{"KVMKVMKVM"});
    CHECK(classify_virt(kvm).kind == VirtKind::kvm);
    CHECK(classify_virt(kvm).name == "KVM");

    // KVM with Hyper-V enlightenments: Hyper-V's id at the first base, KVM's at the next.
    VirtFacts hv_kvm = read_virt(root, fake_cpu({"Microsoft Hv", "KVMKVMKVM"}));
    CHECK(hv_kvm.signatures == std::vector<std::string>{"Microsoft Hv", "KVMKVMKVM"});
    CHECK(classify_virt(hv_kvm).kind == VirtKind::kvm);

    // Without the hypervisor bit the hypervisor leaves are echoes: never read as ids.
    VirtFacts metal = read_virt(root, fake_cpu({"KVMKVMKVM"}, false));
    CHECK(metal.cpuid_available);
    CHECK_FALSE(metal.hypervisor_bit);
    CHECK(metal.signatures.empty());
    CHECK(classify_virt(metal).kind == VirtKind::none);

    // An id that is not text is left out; the bit alone still says "some hypervisor".
    VirtFacts odd = read_virt(root, fake_cpu({std::string("\x01\x02\x03\x04", 4)}));
    CHECK(odd.signatures.empty());
    CHECK(classify_virt(odd).name == "unknown hypervisor");

    VirtFacts none = read_virt(root, no_cpuid());
    CHECK_FALSE(none.cpuid_available);
    CHECK(classify_virt(none).kind == VirtKind::unknown);
}

TEST_CASE("virtualization: the scan of hypervisor bases is bounded") {
    // A CPU whose every base claims another one after it: the scan still ends at 0x40010000
    // (256 bases), as Linux's does.
    FakeSys sys;
    VirtFacts f = read_virt(sys.root.string(), fake_cpu(std::vector<std::string>(300, "KVMKVMKVM")));
    CHECK(f.signatures.size() == 256);
    CHECK(classify_virt(f).kind == VirtKind::kvm);
}

TEST_CASE("virtualization: DMI from the sysfs tree it is given, when CPUID says nothing") {
    FakeSys sys;
    fjord::test::write(sys.root / "class/dmi/id/sys_vendor", "QEMU\n");
    fjord::test::write(sys.root / "class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
    VirtFacts hidden = read_virt(sys.root.string(), fake_cpu({}, false)); // -cpu host,-hypervisor
    CHECK(hidden.dmi_sys_vendor == "QEMU");
    CHECK(hidden.dmi_product == "Standard PC (Q35 + ICH9, 2009)");
    CHECK(classify_virt(hidden).name == "QEMU");
    CHECK(classify_virt(hidden).evidence.find("CPUID hides") != std::string::npos);

    VirtFacts arm = read_virt(sys.root.string(), no_cpuid());
    CHECK(classify_virt(arm).name == "QEMU");
}

#if defined(__x86_64__) || defined(__i386__)
TEST_CASE("virtualization: on this machine, read_virt() agrees with CPUID asked directly") {
    // Whatever the hypervisor (KVM on one machine of this kind, bhyve on another): the test asks
    // the CPU itself, and fjord must have read the same bit and the same id at 0x40000000.
    unsigned a = 0, b = 0, c = 0, d = 0;
    REQUIRE(__get_cpuid(1, &a, &b, &c, &d));
    bool bit = (c >> 31) & 1u;
    VirtFacts f = read_virt();
    VirtInfo v = classify_virt(f);
    CHECK(f.cpuid_available);
    CHECK(f.hypervisor_bit == bit);
    if (!bit) {
        MESSAGE("no hypervisor bit: fjord says " << v.name << " (" << v.evidence << ")");
        CHECK(f.signatures.empty());
        CHECK(v.evidence.rfind("CPUID ", 0) != 0); // not named after a CPUID id
        return;
    }
    __cpuid(0x40000000, a, b, c, d);
    char raw[12];
    std::memcpy(raw, &b, 4);
    std::memcpy(raw + 4, &c, 4);
    std::memcpy(raw + 8, &d, 4);
    std::string id(raw, 12);
    while (!id.empty() && (id.back() == '\0' || id.back() == ' ')) id.pop_back();
    MESSAGE("CPUID 0x40000000: \"" << id << "\"; fjord: " << v.name << " (" << v.evidence << ")");
    REQUIRE_FALSE(f.signatures.empty());
    CHECK(f.signatures.front() == id);
    // What fjord must call the hypervisors whose id at 0x40000000 is their own; ids another
    // hypervisor may show in front of its own (Hyper-V's, fronting KVM or Xen) are not listed.
    static const std::map<std::string, std::pair<VirtKind, std::string>> expected = {
        {"KVMKVMKVM", {VirtKind::kvm, "KVM"}},          {"bhyve bhyve", {VirtKind::other, "bhyve"}},
        {"TCGTCGTCGTCG", {VirtKind::tcg, "QEMU/TCG"}},  {"VMwareVMware", {VirtKind::other, "VMware"}},
        {"VBoxVBoxVBox", {VirtKind::other, "VirtualBox"}},
    };
    if (auto it = expected.find(id); it != expected.end()) {
        CHECK(v.kind == it->second.first);
        CHECK(v.name == it->second.second);
        CHECK(v.evidence == "CPUID " + id);
    } else {
        MESSAGE("an id this test does not name: only the id read is compared");
    }
}
#else
TEST_CASE("virtualization: without CPUID on this machine, read_virt() says so") {
    CHECK_FALSE(read_virt().cpuid_available);
}
#endif
