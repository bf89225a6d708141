#include "prereq/evaluate.hpp"
#include "prereq/virt.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::prereq;

namespace {

const CheckResult &only(const std::vector<CheckResult> &r, const std::string &check) {
    const CheckResult *found = nullptr;
    for (const auto &x : r)
        if (x.check == check) {
            REQUIRE_MESSAGE(found == nullptr, "more than one " << check);
            found = &x;
        }
    REQUIRE_MESSAGE(found != nullptr, "no " << check);
    return *found;
}

DiskFacts disk(std::string name, std::string transport, bool rot, std::string sched) {
    DiskFacts d;
    d.name = std::move(name);
    d.transport = std::move(transport);
    d.rotational = rot;
    d.scheduler = sched;
    d.schedulers = {"none", "mq-deadline", "kyber", "bfq"};
    return d;
}

Measurements one_disk(DiskFacts d, std::vector<std::string> paths = {"/", "/var/lib/fjord"}) {
    Measurements m;
    FsFacts f;
    f.paths = std::move(paths);
    f.fs_type = "ext4";
    f.disks = {std::move(d)};
    m.filesystems = {f};
    return m;
}

FsyncFacts fsync_ms(double p99) {
    FsyncFacts f;
    f.dir = "/var/lib/fjord";
    f.paths = {"/var/lib/fjord"};
    f.writes = 10029;
    f.p50_ns = 300'000;
    f.p99_ns = std::int64_t(p99 * 1e6);
    f.max_ns = f.p99_ns * 3;
    return f;
}

} // namespace

TEST_CASE("virtualization: CPUID first, DMI when CPUID says nothing, container files never") {
    VirtFacts kvm;
    kvm.cpuid_available = kvm.hypervisor_bit = true;
    kvm.signatures = {"KVMKVMKVM"};
    CHECK(classify_virt(kvm).kind == VirtKind::kvm);
    CHECK(classify_virt(kvm).name == "KVM");

    // KVM exposing Hyper-V enlightenments: "Microsoft Hv" at 0x40000000, KVM at 0x40000100.
    VirtFacts hv_kvm = kvm;
    hv_kvm.signatures = {"Microsoft Hv", "KVMKVMKVM"};
    CHECK(classify_virt(hv_kvm).kind == VirtKind::kvm);

    VirtFacts tcg = kvm;
    tcg.signatures = {"TCGTCGTCGTCG"};
    CHECK(classify_virt(tcg).kind == VirtKind::tcg);

    VirtFacts vmware = kvm;
    vmware.signatures = {"VMwareVMware"};
    CHECK(classify_virt(vmware).kind == VirtKind::other);
    CHECK(classify_virt(vmware).name == "VMware");

    VirtFacts hidden; // -cpu host,-hypervisor on QEMU: only the firmware tells
    hidden.cpuid_available = true;
    hidden.dmi_sys_vendor = "QEMU";
    hidden.dmi_product = "Standard PC (Q35 + ICH9, 2009)";
    CHECK(classify_virt(hidden).kind == VirtKind::other);
    CHECK(classify_virt(hidden).evidence.find("CPUID hides") != std::string::npos);

    VirtFacts hyperv;
    hyperv.cpuid_available = true;
    hyperv.dmi_sys_vendor = "Microsoft Corporation";
    hyperv.dmi_product = "Virtual Machine";
    CHECK(classify_virt(hyperv).name == "Hyper-V");

    VirtFacts metal;
    metal.cpuid_available = true;
    metal.dmi_sys_vendor = "Dell Inc.";
    CHECK(classify_virt(metal).kind == VirtKind::none);

    VirtFacts nothing;
    CHECK(classify_virt(nothing).kind == VirtKind::unknown);

    VirtFacts odd = kvm;
    odd.signatures = {};
    CHECK(classify_virt(odd).kind == VirtKind::other);

    PrereqConfig cfg;
    Measurements m;
    m.virt = kvm;
    CHECK(only(evaluate(m, cfg), "virtualization").status == CheckStatus::pass);
    m.virt = metal;
    CHECK(only(evaluate(m, cfg), "virtualization").status == CheckStatus::pass);
    m.virt = tcg;
    CHECK(only(evaluate(m, cfg), "virtualization").status == CheckStatus::fail);
    m.virt = vmware;
    CHECK(only(evaluate(m, cfg), "virtualization").status == CheckStatus::warn);
    m.virt = nothing;
    CHECK(only(evaluate(m, cfg), "virtualization").status == CheckStatus::warn);
}

TEST_CASE("disk: the scheduler against prerequisites.schedulers, with the udev rule") {
    PrereqConfig cfg; // schedulers none, mq-deadline
    auto r = only(evaluate(one_disk(disk("vda", "virtio", true, "bfq")), cfg), "disk");
    CHECK(r.status == CheckStatus::fail);
    CHECK(r.subject == "/dev/vda");
    CHECK(r.problem == "scheduler bfq not in [none mq-deadline]");
    CHECK(r.remedy.find(R"(ACTION=="add|change", KERNEL=="vda", ATTR{queue/scheduler}="none")") != std::string::npos);
    CHECK(r.remedy.find("/etc/udev/rules.d/60-fjord-scheduler.rules") != std::string::npos);
    CHECK(r.data["paths"] == nlohmann::json::array({"/", "/var/lib/fjord"}));
    CHECK(block_reason({r}, PrereqMode::block) ==
          "prerequisites: disk /dev/vda: scheduler bfq not in [none mq-deadline]; refusing to apply (prerequisites.mode = block)");
    CHECK(block_reason({r}, PrereqMode::warn).empty());

    cfg.schedulers = {"mq-deadline"};
    CHECK(only(evaluate(one_disk(disk("vda", "virtio", false, "mq-deadline")), cfg), "disk").status == CheckStatus::pass);
    auto none = only(evaluate(one_disk(disk("vda", "virtio", false, "none")), cfg), "disk");
    CHECK(none.status == CheckStatus::fail);
    CHECK(none.remedy.find("ATTR{queue/scheduler}=\"mq-deadline\"") != std::string::npos);

    // The kernel offers none of the accepted ones: the remedy says so instead of a useless rule.
    DiskFacts bfq_only = disk("sdb", "scsi", false, "bfq");
    bfq_only.schedulers = {"bfq"};
    auto r2 = only(evaluate(one_disk(bfq_only), cfg), "disk");
    CHECK(r2.status == CheckStatus::fail);
    CHECK(r2.remedy.find("offers none of [mq-deadline]") != std::string::npos);
}

TEST_CASE("disk: rotational warns, unless NVMe or a transport that cannot report it") {
    PrereqConfig cfg;
    auto loop = only(evaluate(one_disk(disk("loop3", "loop", true, "none")), cfg), "disk");
    CHECK(loop.status == CheckStatus::warn);
    CHECK(loop.problem.find("rotational") != std::string::npos);
    CHECK(loop.remedy.find("ATTR{queue/rotational}=\"0\"") != std::string::npos);
    CHECK(only(evaluate(one_disk(disk("sda", "scsi", true, "mq-deadline")), cfg), "disk").status == CheckStatus::warn);
    CHECK(only(evaluate(one_disk(disk("sda", "scsi", false, "mq-deadline")), cfg), "disk").status == CheckStatus::pass);
    CHECK(only(evaluate(one_disk(disk("nvme0n1", "nvme", true, "none")), cfg), "disk").status == CheckStatus::pass);
    auto vda = only(evaluate(one_disk(disk("vda", "virtio", true, "mq-deadline")), cfg), "disk");
    CHECK(vda.status == CheckStatus::pass);
    CHECK(vda.value == "virtio, scheduler mq-deadline, rotation not reported by virtio");
    // Both problems at once: the fail leads.
    auto both = only(evaluate(one_disk(disk("loop3", "loop", true, "bfq")), cfg), "disk");
    CHECK(both.status == CheckStatus::fail);
    CHECK(both.problem.find("scheduler bfq") == 0);
}

TEST_CASE("disk: one row per whole disk; what maps to none is a warn with the reason") {
    PrereqConfig cfg;
    Measurements m;
    FsFacts root, state, shm, gone;
    root.paths = {"/"};
    root.disks = {disk("vda", "virtio", true, "mq-deadline")};
    state.paths = {"/srv/state"};
    state.via = {"dm-0"};
    state.disks = {disk("vda", "virtio", true, "mq-deadline"), disk("nvme0n1", "nvme", false, "none")};
    shm.paths = {"/dev/shm/x"};
    shm.no_block_device = true;
    shm.error = "no block device (tmpfs)";
    gone.paths = {"/var/lib/etcd"};
    gone.missing = true;
    gone.error = "/var/lib/etcd: No such file or directory";
    m.filesystems = {root, state, shm, gone};
    auto r = evaluate(m, cfg);
    REQUIRE(r.size() == 4);
    CHECK(r[0].subject == "/dev/vda");
    CHECK(r[0].data["paths"] == nlohmann::json::array({"/", "/srv/state"}));
    CHECK(r[0].data["via"] == nlohmann::json::array({"dm-0"}));
    CHECK(r[1].subject == "/dev/nvme0n1");
    CHECK(r[2].subject == "/dev/shm/x");
    CHECK(r[2].status == CheckStatus::warn);
    CHECK(r[2].value == "no block device");
    CHECK(r[3].status == CheckStatus::warn);
    CHECK(r[3].problem.find("No such file") != std::string::npos);
    CHECK(r[3].remedy.find("prerequisites.paths") != std::string::npos);
    CHECK(worst(r) == CheckStatus::warn);
    CHECK(block_reason(r, PrereqMode::block).empty()); // warns never block
}

TEST_CASE("fdatasync: p99 against max_fdatasync_p99") {
    PrereqConfig cfg; // 10ms
    Measurements m;
    m.fsync = {fsync_ms(9.9)};
    auto r = only(evaluate(m, cfg), "fdatasync");
    CHECK(r.status == CheckStatus::pass);
    CHECK(r.value == "p99 9.90ms (p50 0.30ms, max 29.7ms, 10029 writes)");
    CHECK(r.threshold == "p99 <= 10ms");
    CHECK(r.data["p99_ms"].get<double>() == doctest::Approx(9.9));
    m.fsync = {fsync_ms(10.0)};
    CHECK(only(evaluate(m, cfg), "fdatasync").status == CheckStatus::pass);
    m.fsync = {fsync_ms(10.5)};
    auto slow = only(evaluate(m, cfg), "fdatasync");
    CHECK(slow.status == CheckStatus::fail);
    CHECK(slow.problem == "fdatasync p99 10.5ms > 10ms");
    CHECK(block_reason({slow}, PrereqMode::block).find("fdatasync /var/lib/fjord: fdatasync p99") != std::string::npos);
    cfg.max_fdatasync_p99 = Duration(50);
    CHECK(only(evaluate(m, cfg), "fdatasync").status == CheckStatus::pass);

    FsyncFacts err;
    err.dir = "/full";
    err.error = "not probed: /full has 10 MiB free, the probe needs 86 MiB";
    m.fsync = {err};
    auto e = only(evaluate(m, cfg), "fdatasync");
    CHECK(e.status == CheckStatus::warn);
    CHECK(e.value == "not measured");
    CHECK(e.problem.find("10 MiB free") != std::string::npos);
}

TEST_CASE("steal: percent against max_steal") {
    PrereqConfig cfg; // 5%
    Measurements m;
    m.steal = StealFacts{4.9, 5000, "", 0};
    auto r = only(evaluate(m, cfg), "steal");
    CHECK(r.status == CheckStatus::pass);
    CHECK(r.value == "4.9% over 5s");
    CHECK(r.threshold == "<= 5%");
    m.steal = StealFacts{12.5, 5000, "", 0};
    auto bad = only(evaluate(m, cfg), "steal");
    CHECK(bad.status == CheckStatus::fail);
    CHECK(bad.problem == "12.5% of CPU time stolen > 5%");
    cfg.max_steal = 20;
    CHECK(only(evaluate(m, cfg), "steal").status == CheckStatus::pass);
    m.steal = StealFacts{0, 0, "the kernel reports no steal time", 0};
    CHECK(only(evaluate(m, cfg), "steal").status == CheckStatus::warn);
}

TEST_CASE("memory and disk space: fjord's fixed limits") {
    PrereqConfig cfg;
    Measurements m;
    m.memory = MemFacts{memory_warn_bytes, 1ull << 30, ""};
    CHECK(only(evaluate(m, cfg), "memory").status == CheckStatus::pass);
    m.memory = MemFacts{memory_warn_bytes - 1, 1ull << 30, ""};
    CHECK(only(evaluate(m, cfg), "memory").status == CheckStatus::warn);
    m.memory = MemFacts{memory_fail_bytes - 1, 1ull << 30, ""};
    CHECK(only(evaluate(m, cfg), "memory").status == CheckStatus::fail);

    SpaceFacts s;
    s.dir = "/var/lib/fjord";
    s.avail_bytes = 5ull << 30;
    s.total_bytes = 10ull << 30;
    s.avail_inodes = 1'000'000;
    s.total_inodes = 2'000'000;
    m.space = s;
    auto ok = only(evaluate(m, cfg), "disk_space");
    CHECK(ok.status == CheckStatus::pass);
    CHECK(ok.value == "5 GiB free of 10 GiB, 1.0M inodes free");
    m.space->avail_bytes = 512ull << 20;
    CHECK(only(evaluate(m, cfg), "disk_space").status == CheckStatus::warn);
    m.space->avail_bytes = 100ull << 20;
    CHECK(only(evaluate(m, cfg), "disk_space").status == CheckStatus::fail);
    m.space->avail_bytes = 5ull << 30;
    m.space->avail_inodes = 5000;
    CHECK(only(evaluate(m, cfg), "disk_space").status == CheckStatus::fail);
    m.space->avail_inodes = 0;
    m.space->total_inodes = 0; // btrfs: no inode table, no inode limit to judge
    CHECK(only(evaluate(m, cfg), "disk_space").status == CheckStatus::pass);
}

TEST_CASE("formatting") {
    CHECK(format_bytes(512) == "512 B");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(1ull << 30) == "1 GiB");
    CHECK(format_bytes(25769803776ull) == "24 GiB");
    CHECK(format_ms(312'000) == "0.31ms");
    CHECK(format_ms(12'400'000) == "12.4ms");
    CHECK(format_ms(230'000'000) == "230ms");
    CHECK(udev_rule("vda", "mq-deadline") == R"(ACTION=="add|change", KERNEL=="vda", ATTR{queue/scheduler}="mq-deadline")");
}
