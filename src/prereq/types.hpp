#pragma once
// Host prerequisites as data: what was measured on the host (the *Facts structs, gathered
// by virt, sysfs, fsync_probe and host_read) and what was judged from it (CheckResult, made by
// the pure evaluate()). Keeping the two apart lets the judging be tested with made-up numbers.
// A measurement that could not be taken carries its reason in `error`: that is a fact to
// report (as a warn), not a failure of the caller.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fjord::prereq {

/// The verdict of one check. warn never blocks an apply; fail does when mode = block.
enum class CheckStatus { pass, warn, fail };

/// "pass", "warn", "fail".
[[nodiscard]] const char *status_name(CheckStatus s);

/// What CPUID and DMI say about the machine (container marker files are deliberately not read).
struct VirtFacts {
    bool cpuid_available = false;            ///< false off x86
    bool hypervisor_bit = false;             ///< CPUID leaf 1, ECX bit 31
    std::vector<std::string> signatures;     ///< vendor ids at leaves 0x40000000, 0x40000100, ...
    std::string dmi_sys_vendor, dmi_product; ///< /sys/class/dmi/id; "" when absent
    std::string dmi_board_vendor, dmi_bios_vendor;
};

/// One whole disk (no partition, no device-mapper or md layer) under a judged filesystem.
struct DiskFacts {
    std::string name;                    ///< "vda", "nvme0n1", "loop3"
    std::string transport;               ///< nvme | virtio | scsi | xen | mmc | loop | other
    bool rotational = false;             ///< queue/rotational
    std::string scheduler;               ///< the active I/O scheduler; "" when unknown
    std::vector<std::string> schedulers; ///< the schedulers the kernel offers for it
    std::string error;                   ///< why some of the above could not be read
};

/// One filesystem holding judged paths, and the whole disks beneath it.
struct FsFacts {
    std::vector<std::string> paths; ///< the judged paths it holds, as configured
    std::string fs_type, source;    ///< from mountinfo; "" when not found
    std::string device;             ///< "254:0", the filesystem's st_dev
    std::vector<std::string> via;   ///< stacked devices passed on the way down ("dm-0", "md0")
    std::vector<DiskFacts> disks;   ///< empty when none could be named (see error)
    bool no_block_device = false;   ///< tmpfs, NFS, FUSE, ...: nothing to judge
    bool missing = false;           ///< the path does not exist
    std::string error;              ///< why no disk is named
};

/// What the fdatasync probe measured in one directory (etcd's method, see fsync_probe.hpp).
struct FsyncFacts {
    std::string dir;                ///< where the probe file was written
    std::vector<std::string> paths; ///< judged paths on the same filesystem
    std::uint64_t writes = 0, bytes = 0;
    std::int64_t p50_ns = 0, p99_ns = 0, max_ns = 0;
    double seconds = 0;             ///< wall time of the whole probe
    bool stopped_early = false;     ///< hit the probe's time limit; the numbers cover what ran
    std::string error;
    std::int64_t at = 0;            ///< unix time of the measurement
};

/// CPU time stolen by the hypervisor, over a window.
struct StealFacts {
    double percent = 0;
    std::int64_t window_ms = 0; ///< the window actually measured
    std::string error;
    std::int64_t at = 0;
};

/// /proc/meminfo.
struct MemFacts {
    std::uint64_t available = 0, total = 0; ///< bytes
    std::string error;
};

/// statvfs of the state directory.
struct SpaceFacts {
    std::string dir;
    std::uint64_t avail_bytes = 0, total_bytes = 0;
    std::uint64_t avail_inodes = 0, total_inodes = 0; ///< total 0: the filesystem has no inode limit
    std::string error;
};

/// Everything measured; a check whose measurement is absent is not reported.
struct Measurements {
    std::optional<VirtFacts> virt;
    std::vector<FsFacts> filesystems;
    std::vector<FsyncFacts> fsync;
    std::optional<StealFacts> steal;
    std::optional<MemFacts> memory;
    std::optional<SpaceFacts> space;
};

/// The verdict of one check, as `fjordctl check` prints it and status.json/prereq.json keep it.
struct CheckResult {
    std::string check;     ///< virtualization | disk | fdatasync | steal | memory | disk_space
    std::string subject;   ///< the disk ("vda"), the directory, or "" for host-wide checks
    CheckStatus status = CheckStatus::pass;
    std::string value;     ///< the measured value, for humans
    std::string threshold; ///< what passes, from [prerequisites] or fjord's fixed limits
    std::string problem;   ///< "" on pass; else what is wrong, in one line
    std::string remedy;    ///< "" on pass; else one line on how to fix it
    nlohmann::json data = nlohmann::json::object(); ///< the measured values, machine-readable

    /// "disk vda", "steal": how messages name the check.
    [[nodiscard]] std::string label() const { return subject.empty() ? check : check + " " + subject; }
};

} // namespace fjord::prereq
