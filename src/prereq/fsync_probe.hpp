#pragma once
// etcd's disk test, as `fio --rw=write --ioengine=sync --fdatasync=1 --bs=2300 --size=22m`
// runs it: preallocate the file, then write it sequentially in 2300-byte blocks (the size of a
// typical etcd WAL entry), each followed by fdatasync, timing the fdatasync calls.
#include "prereq/types.hpp"
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace fjord::prereq {

/// etcd's WAL entry size, and fio's --bs in etcd's guidance.
inline constexpr std::uint64_t probe_block = 2300;
/// A probe stops after this long: a disk that slow has long since failed any sane threshold,
/// and fjordd must not spend minutes of I/O on proving it.
inline constexpr std::chrono::seconds probe_time_limit{120};

/// Writes `size` bytes into a temporary file in `dir` and times each fdatasync. The file is
/// O_TMPFILE where the filesystem allows it (nothing to leave behind even on SIGKILL), else a
/// named .fjord-probe-* file removed on every return path. Refuses when the filesystem has less
/// than size + 64 MiB free. `cancel` (may be null) stops it between writes.
[[nodiscard]] FsyncFacts probe_fdatasync(const std::string &dir, std::uint64_t size,
                                         const std::atomic<bool> *cancel = nullptr,
                                         std::chrono::seconds limit = probe_time_limit);

} // namespace fjord::prereq
