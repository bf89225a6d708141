// Host facts for templates: their words, and the key that makes a change of facts re-render.
#include "facts/host_facts.hpp"

#include <doctest/doctest.h>

using namespace fjord;

TEST_CASE("host.virtualization uses systemd-detect-virt's words") {
    using prereq::VirtKind;
    CHECK(virtualization_id({VirtKind::kvm, "KVM", ""}) == "kvm");
    CHECK(virtualization_id({VirtKind::none, "bare metal", ""}) == "none");
    CHECK(virtualization_id({VirtKind::tcg, "QEMU/TCG", ""}) == "qemu");
    CHECK(virtualization_id({VirtKind::other, "Hyper-V", ""}) == "microsoft");
    CHECK(virtualization_id({VirtKind::other, "VirtualBox", ""}) == "oracle");
    CHECK(virtualization_id({VirtKind::unknown, "unknown", ""}) == "unknown");
}

TEST_CASE("this machine's facts are all there") {
    VarTable f = host_facts();
    for (const char *n : {"host.name", "host.machine_id", "host.ipv4", "host.ipv6", "host.virtualization"})
        CHECK_MESSAGE(find_var(f, n) != nullptr, n);
    CHECK(find_var(f, "host.ipv4")->kind == VarValue::Kind::list);
    for (const auto &a : find_var(f, "host.ipv4")->items) {
        CHECK(a.text.rfind("127.", 0) != 0);
        CHECK(a.text.rfind("169.254.", 0) != 0);
    }
    for (const auto &a : find_var(f, "host.ipv6")->items) {
        CHECK(a.text != "::1");
        CHECK(a.text.rfind("fe80:", 0) != 0);
    }
}

TEST_CASE("the facts key follows host facts, not fjord.*") {
    VarTable a;
    set_var(a, "host.name", VarValue::string("web1"));
    set_var(a, "host.ipv4", VarValue::strings({"192.0.2.1"}));
    VarTable b = a;
    set_var(b, "fjord.generation", VarValue::number("9"));
    set_var(b, "fjord.commit", VarValue::string("abc"));
    CHECK(facts_key(a) == facts_key(b));
    set_var(b, "host.ipv4", VarValue::strings({"192.0.2.1", "192.0.2.2"}));
    CHECK(facts_key(a) != facts_key(b));
    // The encoding is unambiguous: ["ab"] is not ["a", "b"].
    VarTable c, d;
    set_var(c, "host.x", VarValue::strings({"ab"}));
    set_var(d, "host.x", VarValue::strings({"a", "b"}));
    CHECK(facts_key(c) != facts_key(d));
}

TEST_CASE("uses_generation sees fjord.generation and the whole fjord table") {
    CHECK(uses_generation({"fjord.generation"}));
    CHECK(uses_generation({"host.name", "fjord"}));
    CHECK_FALSE(uses_generation({"fjord.commit", "host.name"}));
}
