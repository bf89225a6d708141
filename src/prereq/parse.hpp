#pragma once
// Pure parsers of the kernel's text interfaces the checks read, and the arithmetic on them.
// No I/O: the readers in host_read/sysfs hand these the text.
#include "util/result.hpp"
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fjord::prereq {

/// A queue/scheduler file: "none [mq-deadline] kyber bfq".
struct SchedulerLine {
    std::string active;                ///< the bracketed one; a lone name without brackets too
    std::vector<std::string> offered;  ///< every name, brackets removed
};
[[nodiscard]] SchedulerLine parse_scheduler(std::string_view text);

/// The aggregate "cpu" line of /proc/stat, in USER_HZ ticks: user nice system idle iowait irq
/// softirq steal guest guest_nice.
struct CpuTimes {
    std::array<std::uint64_t, 10> t{};
    std::size_t fields = 0; ///< how many the kernel gave (steal needs 8)
};
[[nodiscard]] Result<CpuTimes> parse_cpu_times(std::string_view proc_stat);
/// Percent of CPU time stolen between two samples. guest and guest_nice are already counted in
/// user and nice, so they stay out of the total. Refuses counters that went backwards.
[[nodiscard]] Result<double> steal_percent(const CpuTimes &before, const CpuTimes &after);

/// MemTotal and MemAvailable of /proc/meminfo, in bytes.
struct MemLine {
    std::uint64_t total = 0, available = 0;
};
[[nodiscard]] Result<MemLine> parse_meminfo(std::string_view text);

/// One line of /proc/self/mountinfo (octal escapes such as \040 undone).
struct MountEntry {
    unsigned major = 0, minor = 0;
    std::string root, mount_point, fs_type, source, super_options;
};
/// Lines that do not parse are skipped: the kernel's format, not user input.
[[nodiscard]] std::vector<MountEntry> parse_mountinfo(std::string_view text);
/// The value of KEY in "rw,lowerdir=/a,upperdir=/b": "" when absent.
[[nodiscard]] std::string mount_option(std::string_view options, std::string_view key);

/// Nearest-rank percentile (p in (0, 100]) of sorted samples; 0 for none.
[[nodiscard]] std::int64_t percentile(const std::vector<std::int64_t> &sorted, double p);

} // namespace fjord::prereq
