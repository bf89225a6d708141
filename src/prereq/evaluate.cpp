#include "prereq/evaluate.hpp"

#include "prereq/fsync_probe.hpp"
#include "prereq/virt.hpp"
#include <algorithm>
#include <cstdio>

namespace fjord::prereq {
namespace {

std::string fmt(const char *f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string join(const std::vector<std::string> &v, const char *sep) {
    std::string out;
    for (const auto &s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::string list(const std::vector<std::string> &v) { return "[" + join(v, " ") + "]"; }

std::string percent(double p) { return fmt("%.1f%%", p); }

// Inode counts run to millions: 16308678 -> "16.3M", 98286 -> "98k".
std::string count(std::uint64_t n) {
    if (n < 10'000) return std::to_string(n);
    if (n < 1'000'000) return std::to_string(n / 1000) + "k";
    return fmt("%.1fM", double(n) / 1e6);
}

double ms(std::int64_t ns) { return double(ns) / 1e6; }

void set(CheckResult &r, CheckStatus s, std::string problem, std::string remedy) {
    // A worse status takes over problem and remedy; an equal one adds its problem; a lesser one
    // is left out, so the line names what matters most.
    if (r.status == CheckStatus::fail || (r.status == CheckStatus::warn && s != CheckStatus::fail)) {
        if (s == r.status) r.problem += "; " + problem;
        return;
    }
    r.status = s;
    r.problem = std::move(problem);
    r.remedy = std::move(remedy);
}

const char *kind_name(VirtKind k) {
    switch (k) {
    case VirtKind::none: return "none";
    case VirtKind::kvm: return "kvm";
    case VirtKind::tcg: return "tcg";
    case VirtKind::other: return "other";
    case VirtKind::unknown: return "unknown";
    }
    return "unknown";
}

CheckResult virt_row(const VirtFacts &f) {
    VirtInfo v = classify_virt(f);
    CheckResult r;
    r.check = "virtualization";
    r.value = v.name + " (" + v.evidence + ")";
    r.threshold = "KVM or bare metal";
    r.data = {{"kind", kind_name(v.kind)}, {"name", v.name}, {"evidence", v.evidence},
              {"hypervisor_bit", f.hypervisor_bit}, {"cpuid_signatures", f.signatures},
              {"dmi_sys_vendor", f.dmi_sys_vendor}, {"dmi_product", f.dmi_product}};
    switch (v.kind) {
    case VirtKind::kvm:
    case VirtKind::none: break;
    case VirtKind::tcg:
        set(r, CheckStatus::fail, "QEMU/TCG emulates every instruction in software",
            "run the VM with KVM acceleration (qemu -accel kvm, libvirt <domain type='kvm'>); the host needs /dev/kvm");
        break;
    case VirtKind::other:
        set(r, CheckStatus::warn, v.name + ", not KVM",
            "nothing to do if the fdatasync and steal checks pass: fjord is built and tested for KVM guests and bare metal");
        break;
    case VirtKind::unknown:
        set(r, CheckStatus::warn, "the hypervisor cannot be told (no CPUID, no DMI)",
            "nothing to do if the fdatasync and steal checks pass");
        break;
    }
    return r;
}

// One whole disk, with every judged path and stacked device that leads to it.
struct DiskRow {
    DiskFacts d;
    std::vector<std::string> paths, via, fs_types;
};

void add_unique(std::vector<std::string> &to, const std::vector<std::string> &from) {
    for (const auto &s : from)
        if (std::find(to.begin(), to.end(), s) == to.end()) to.push_back(s);
}

CheckResult disk_row(const DiskRow &row, const PrereqConfig &cfg) {
    const DiskFacts &d = row.d;
    CheckResult r;
    r.check = "disk";
    r.subject = "/dev/" + d.name;
    // virtio-blk and Xen's blkfront cannot tell the guest whether the backing store spins, so
    // their queue/rotational is always 1 and says nothing; the fdatasync probe judges them.
    bool rot_unknown = d.transport == "virtio" || d.transport == "xen";
    r.value = d.transport + ", scheduler " + (d.scheduler.empty() ? "unknown" : d.scheduler) + ", " +
              (rot_unknown ? "rotation not reported by " + d.transport : d.rotational ? "rotational" : "non-rotational");
    r.threshold = "scheduler in " + list(cfg.schedulers) + "; non-rotational or NVMe";
    r.data = {{"device", d.name},       {"transport", d.transport},   {"rotational", d.rotational},
              {"rotational_reported", !rot_unknown}, {"scheduler", d.scheduler}, {"schedulers", d.schedulers},
              {"paths", row.paths},     {"via", row.via},             {"fs_types", row.fs_types}};
    if (!d.scheduler.empty() && std::find(cfg.schedulers.begin(), cfg.schedulers.end(), d.scheduler) == cfg.schedulers.end()) {
        std::string want;
        for (const auto &s : cfg.schedulers)
            if (want.empty() && std::find(d.schedulers.begin(), d.schedulers.end(), s) != d.schedulers.end()) want = s;
        std::string remedy =
            want.empty() ? "the kernel offers none of " + list(cfg.schedulers) + " for " + d.name + " (it offers " + list(d.schedulers) +
                               "): load one (modprobe mq-deadline) or list an offered one in prerequisites.schedulers"
                         : "echo " + want + " > /sys/block/" + d.name + "/queue/scheduler now; for every boot put " +
                               udev_rule(d.name, want) + " in /etc/udev/rules.d/60-fjord-scheduler.rules";
        set(r, CheckStatus::fail, "scheduler " + d.scheduler + " not in " + list(cfg.schedulers), remedy);
    }
    if (!d.error.empty()) set(r, CheckStatus::warn, "cannot read " + d.name + "'s queue: " + d.error, "make /sys readable to fjord");
    else if (d.scheduler.empty())
        set(r, CheckStatus::warn, "no active scheduler in /sys/block/" + d.name + "/queue/scheduler", "make /sys readable to fjord");
    if (d.rotational && !rot_unknown && d.transport != "nvme")
        set(r, CheckStatus::warn, "rotational disk (spinning, or the kernel was told so)",
            "put fjord's state and the judged paths on SSD or NVMe storage; if " + d.name +
                " is an SSD, say so at boot: ACTION==\"add|change\", KERNEL==\"" + d.name + "\", ATTR{queue/rotational}=\"0\"");
    return r;
}

CheckResult unmapped_row(const FsFacts &f) {
    CheckResult r;
    r.check = "disk";
    r.subject = f.paths.empty() ? "" : f.paths.front();
    r.value = f.missing ? "missing" : f.no_block_device ? "no block device" : "unknown";
    r.threshold = "a block device to judge";
    r.data = {{"paths", f.paths}, {"fs_type", f.fs_type}, {"source", f.source}, {"device", f.device},
              {"no_block_device", f.no_block_device}, {"missing", f.missing}, {"error", f.error}};
    // A warn, not a fail: there is no disk to find wrong, only one fjord could not judge, and
    // the fdatasync probe still measures what matters on such filesystems.
    std::string remedy = f.missing            ? "create it, or remove it from prerequisites.paths"
                         : f.no_block_device ? "nothing to do if this is meant (tmpfs, network or FUSE filesystems have no disk to judge)"
                                             : "make /sys and /proc/self/mountinfo readable to fjord";
    set(r, CheckStatus::warn, f.error.empty() ? "no disk found" : f.error, remedy);
    return r;
}

CheckResult fsync_row(const FsyncFacts &f, const PrereqConfig &cfg) {
    CheckResult r;
    r.check = "fdatasync";
    r.subject = f.paths.empty() ? f.dir : f.paths.front();
    r.threshold = "p99 <= " + format_duration(cfg.max_fdatasync_p99);
    r.data = {{"dir", f.dir},        {"paths", f.paths},          {"p50_ms", ms(f.p50_ns)},
              {"p99_ms", ms(f.p99_ns)}, {"max_ms", ms(f.max_ns)}, {"writes", f.writes},
              {"bytes", f.bytes},    {"block_size", probe_block}, {"seconds", f.seconds},
              {"stopped_early", f.stopped_early}, {"measured_at", f.at}};
    if (!f.error.empty() || f.writes == 0) {
        r.value = "not measured";
        r.data["error"] = f.error;
        set(r, CheckStatus::warn, f.error.empty() ? "no write was timed" : f.error,
            "let fjord write a temporary file of prerequisites.probe_size in " + f.dir + " (free space, permissions)");
        return r;
    }
    r.value = "p99 " + format_ms(f.p99_ns) + " (p50 " + format_ms(f.p50_ns) + ", max " + format_ms(f.max_ns) + ", " +
              std::to_string(f.writes) + " writes" + (f.stopped_early ? ", stopped at the time limit" : "") + ")";
    if (f.p99_ns > std::int64_t(cfg.max_fdatasync_p99.count()) * 1'000'000)
        set(r, CheckStatus::fail, "fdatasync p99 " + format_ms(f.p99_ns) + " > " + format_duration(cfg.max_fdatasync_p99),
            "move " + r.subject + " to faster storage (local NVMe or SSD, a disk without a slow write-back path), or raise prerequisites.max_fdatasync_p99");
    return r;
}

CheckResult steal_row(const StealFacts &s, const PrereqConfig &cfg) {
    CheckResult r;
    r.check = "steal";
    r.threshold = "<= " + fmt("%g%%", cfg.max_steal);
    r.data = {{"percent", s.percent}, {"window_ms", s.window_ms}, {"measured_at", s.at}};
    if (!s.error.empty()) {
        r.value = "not measured";
        r.data["error"] = s.error;
        set(r, CheckStatus::warn, s.error, "make /proc/stat readable to fjord");
        return r;
    }
    r.value = percent(s.percent) + " over " + format_duration(Duration(s.window_ms));
    if (s.percent > cfg.max_steal)
        set(r, CheckStatus::fail, percent(s.percent) + " of CPU time stolen > " + fmt("%g%%", cfg.max_steal),
            "the hypervisor gives this VM's CPU time to others: move to dedicated vCPUs or a quieter host, or raise prerequisites.max_steal");
    return r;
}

CheckResult memory_row(const MemFacts &m) {
    CheckResult r;
    r.check = "memory";
    r.threshold = ">= " + format_bytes(memory_warn_bytes) + " available (fail below " + format_bytes(memory_fail_bytes) + ")";
    r.data = {{"available_bytes", m.available}, {"total_bytes", m.total}};
    if (!m.error.empty()) {
        r.value = "not measured";
        r.data["error"] = m.error;
        set(r, CheckStatus::warn, m.error, "make /proc/meminfo readable to fjord");
        return r;
    }
    r.value = format_bytes(m.available) + " available of " + format_bytes(m.total);
    std::string remedy = "stop what holds the memory, or give the host more; fjordd needs ~10 MiB, an apply up to apply.max_file_size more";
    if (m.available < memory_fail_bytes) set(r, CheckStatus::fail, "only " + format_bytes(m.available) + " available", remedy);
    else if (m.available < memory_warn_bytes) set(r, CheckStatus::warn, "only " + format_bytes(m.available) + " available", remedy);
    return r;
}

CheckResult space_row(const SpaceFacts &s) {
    CheckResult r;
    r.check = "disk_space";
    r.subject = s.dir;
    r.threshold = ">= " + format_bytes(space_warn_bytes) + " and " + count(inodes_warn) + " inodes free (fail below " +
                  format_bytes(space_fail_bytes) + " or " + count(inodes_fail) + ")";
    r.data = {{"available_bytes", s.avail_bytes}, {"total_bytes", s.total_bytes}, {"available_inodes", s.avail_inodes},
              {"total_inodes", s.total_inodes}};
    if (!s.error.empty()) {
        r.value = "not measured";
        r.data["error"] = s.error;
        set(r, CheckStatus::warn, s.error, "check that " + s.dir + " exists and is readable");
        return r;
    }
    bool inodes = s.total_inodes > 0; // btrfs and others have no fixed inode table
    r.value = format_bytes(s.avail_bytes) + " free of " + format_bytes(s.total_bytes) +
              (inodes ? ", " + count(s.avail_inodes) + " inodes free" : "");
    std::string remedy = "free space on " + s.dir + "'s filesystem (a lower state.keep_generations keeps fewer generations) or grow it";
    if (s.avail_bytes < space_fail_bytes) set(r, CheckStatus::fail, "only " + format_bytes(s.avail_bytes) + " free", remedy);
    if (inodes && s.avail_inodes < inodes_fail) set(r, CheckStatus::fail, "only " + count(s.avail_inodes) + " inodes free", remedy);
    if (s.avail_bytes < space_warn_bytes) set(r, CheckStatus::warn, "only " + format_bytes(s.avail_bytes) + " free", remedy);
    if (inodes && s.avail_inodes < inodes_warn) set(r, CheckStatus::warn, "only " + count(s.avail_inodes) + " inodes free", remedy);
    return r;
}

} // namespace

const char *status_name(CheckStatus s) {
    switch (s) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::warn: return "warn";
    case CheckStatus::fail: return "fail";
    }
    return "?";
}

std::vector<CheckResult> evaluate(const Measurements &m, const PrereqConfig &cfg) {
    std::vector<CheckResult> out;
    if (m.virt) out.push_back(virt_row(*m.virt));
    std::vector<DiskRow> disks;
    std::vector<CheckResult> unmapped;
    for (const auto &f : m.filesystems) {
        if (f.disks.empty()) {
            unmapped.push_back(unmapped_row(f));
            continue;
        }
        for (const auto &d : f.disks) {
            auto it = std::find_if(disks.begin(), disks.end(), [&](const DiskRow &r) { return r.d.name == d.name; });
            if (it == disks.end()) it = disks.insert(disks.end(), DiskRow{d, {}, {}, {}});
            add_unique(it->paths, f.paths);
            add_unique(it->via, f.via);
            if (!f.fs_type.empty()) add_unique(it->fs_types, {f.fs_type});
        }
    }
    for (const auto &d : disks) out.push_back(disk_row(d, cfg));
    out.insert(out.end(), unmapped.begin(), unmapped.end());
    for (const auto &f : m.fsync) out.push_back(fsync_row(f, cfg));
    if (m.steal) out.push_back(steal_row(*m.steal, cfg));
    if (m.memory) out.push_back(memory_row(*m.memory));
    if (m.space) out.push_back(space_row(*m.space));
    return out;
}

std::string udev_rule(const std::string &disk, const std::string &scheduler) {
    return "ACTION==\"add|change\", KERNEL==\"" + disk + "\", ATTR{queue/scheduler}=\"" + scheduler + "\"";
}

std::string block_reason(const std::vector<CheckResult> &results, PrereqMode mode) {
    if (mode != PrereqMode::block) return {};
    std::string why;
    for (const auto &r : results)
        if (r.status == CheckStatus::fail) why += (why.empty() ? "" : "; ") + r.label() + ": " + r.problem;
    if (why.empty()) return {};
    return "prerequisites: " + why + "; refusing to apply (prerequisites.mode = block)";
}

CheckStatus worst(const std::vector<CheckResult> &results) {
    CheckStatus w = CheckStatus::pass;
    for (const auto &r : results)
        if (int(r.status) > int(w)) w = r.status;
    return w;
}

std::string format_bytes(std::uint64_t n) {
    static constexpr const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = double(n);
    std::size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) v /= 1024, ++u;
    if (u == 0) return std::to_string(n) + " B";
    bool whole = v == double(static_cast<std::uint64_t>(v));
    return fmt(v < 10 && !whole ? "%.1f" : "%.0f", v) + " " + units[u];
}

std::string format_ms(std::int64_t ns) {
    double v = ms(ns);
    return fmt(v < 10 ? "%.2fms" : v < 100 ? "%.1fms" : "%.0fms", v);
}

} // namespace fjord::prereq
