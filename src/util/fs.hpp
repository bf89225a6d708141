#pragma once
// Plain file helpers for fjord's own state (config, state dir). Writes into apply.root go
// through apply/rooted_fs instead, which never follows symlinks.
#include "util/result.hpp"
#include "util/unique_fd.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace fjord {

/// Reads a whole file; refuses one larger than max bytes.
[[nodiscard]] Result<std::string> read_file(const std::string &path, std::uint64_t max = 64u << 20);
/// Writes all of `data` to fd, retrying short writes and EINTR; `what` names it in errors.
[[nodiscard]] Status write_all(int fd, std::string_view data, const std::string &what);
/// Writes tmp -> fsync -> rename -> fsync(dir), so readers see the old or the new file whole.
/// `durable` false: tmp -> rename, no fsync. Readers still see a whole file, but a crash may
/// bring back the one before (or, on some filesystems, leave it empty): only for files that
/// say little new (times) or that fjord rebuilds when they are lost or damaged.
[[nodiscard]] Status write_file_atomic(const std::string &path, std::string_view data, mode_t mode = 0600, bool durable = true);
/// fsync of a directory, making renames and unlinks in it durable.
[[nodiscard]] Status fsync_dir(const std::string &dir);
/// mkdir -p with the given mode for the folders it creates.
[[nodiscard]] Status mkdir_p(const std::string &path, mode_t mode = 0755);
/// Takes an exclusive flock on PATH (created 0600) without waiting; Errc::busy when held.
[[nodiscard]] Result<unique_fd> lock_file(const std::string &path);
/// The folder part of a path ("/a/b" -> "/a", "b" -> ".").
[[nodiscard]] std::string dirname_of(const std::string &path);

} // namespace fjord
