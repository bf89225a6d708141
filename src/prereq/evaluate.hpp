#pragma once
// Judging: measurements and [prerequisites] in, verdicts out. Pure, so every threshold is
// unit-tested with made-up numbers.
#include "config/config.hpp"
#include "prereq/types.hpp"
#include <cstdint>
#include <string>
#include <vector>

namespace fjord::prereq {

/// fjord's own limits where [prerequisites] has no key. fjordd itself needs ~10 MiB of memory,
/// an apply holds at most one file of apply.max_file_size (64 MiB by default) at a time; below
/// 64 MiB available the kernel is about to reclaim hard or kill, below 256 MiB a small VPS has
/// no room left for what it runs.
inline constexpr std::uint64_t memory_fail_bytes = 64ull << 20;
inline constexpr std::uint64_t memory_warn_bytes = 256ull << 20;
/// The state dir holds the Git cache, the object store and every kept generation: under
/// 256 MiB the next fetch or apply can run out; under 1 GiB it is time to look.
inline constexpr std::uint64_t space_fail_bytes = 256ull << 20;
inline constexpr std::uint64_t space_warn_bytes = 1ull << 30;
/// Every stored object is a file: under 10,000 free inodes one generation of a 10,000-file
/// host no longer fits; under 50,000 a few more do. (A 1.5 GiB ext4 has ~98,000.)
inline constexpr std::uint64_t inodes_fail = 10'000;
inline constexpr std::uint64_t inodes_warn = 50'000;

/// Judges every measurement present, in a fixed order: virtualization, disk (one per whole
/// disk, or per path that maps to none), fdatasync (one per filesystem probed), steal, memory,
/// disk_space.
[[nodiscard]] std::vector<CheckResult> evaluate(const Measurements &m, const PrereqConfig &cfg);

/// The udev rule that puts `scheduler` on `disk` at boot and on hotplug.
[[nodiscard]] std::string udev_rule(const std::string &disk, const std::string &scheduler);

/// The one-line reason applying is refused: "" unless mode = block and a check fails.
/// "prerequisites: disk vda: scheduler bfq not in [none mq-deadline]; refusing to apply (prerequisites.mode = block)"
[[nodiscard]] std::string block_reason(const std::vector<CheckResult> &results, PrereqMode mode);

/// The worst status of all; pass for none.
[[nodiscard]] CheckStatus worst(const std::vector<CheckResult> &results);

/// 1536 -> "1.5 KiB", 25769803776 -> "24 GiB".
[[nodiscard]] std::string format_bytes(std::uint64_t n);
/// Nanoseconds as milliseconds with sensible digits: "0.31ms", "12.4ms", "230ms".
[[nodiscard]] std::string format_ms(std::int64_t ns);

} // namespace fjord::prereq
