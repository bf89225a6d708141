#pragma once
// From a path to the whole disks that hold it, through the kernel's own tables:
// stat(path).st_dev -> /sys/dev/block/MAJ:MIN -> the partition's parent, or the slaves/ of a
// device-mapper or md device, down to physical disks. Filesystems without a device number of
// their own (btrfs subvolumes, overlay) are followed through /proc/self/mountinfo.
#include "prereq/types.hpp"
#include "prereq/virt.hpp"
#include "util/result.hpp"
#include <string>
#include <string_view>
#include <vector>

namespace fjord::prereq {

/// Where the host's facts come from: the kernel's interfaces and the CPU's CPUID. Tests point
/// `sys` at a fake tree and `cpuid` at a fake CPU, to judge hardware they describe themselves.
struct HostRoots {
    std::string sys = "/sys";
    std::string proc = "/proc";
    Cpuid cpuid = cpuid_instruction;
};

/// A path whose filesystem is judged: `label` as configured, `at` what is stat'ed (the nearest
/// existing folder of a state dir fjord has not created yet).
struct JudgedPath {
    std::string label, at;
};

/// nvme | virtio | scsi | xen | mmc | loop | other, from the disk's name and its device path
/// under /sys/devices (virtio-scsi disks are sdX below a virtio device: scsi).
[[nodiscard]] std::string transport_of(std::string_view name, std::string_view device_path);

/// The whole disks under block device MAJ:MIN, read from the sysfs tree at `sys`. Each stacked
/// device passed on the way (dm-0, md0) is appended to `via`.
[[nodiscard]] Result<std::vector<DiskFacts>> whole_disks(const std::string &sys, unsigned major, unsigned minor,
                                                         std::vector<std::string> &via);

/// Groups the paths by filesystem and names the disks under each. Never fails as a whole:
/// a path that is missing or cannot be mapped gets an FsFacts whose error says why.
[[nodiscard]] std::vector<FsFacts> filesystems_of(const std::vector<JudgedPath> &paths, const HostRoots &roots = {});

} // namespace fjord::prereq
