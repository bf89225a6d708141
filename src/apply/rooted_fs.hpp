#pragma once
// Every read and write fjord makes under apply.root. Paths are walked one component at a time
// from a directory fd of the root with O_NOFOLLOW, so no symlink on the host — planted before or
// during an apply — can lead a write outside the root. Writes are tmp -> fsync -> rename.
#include "plan/plan.hpp"
#include "util/unique_fd.hpp"
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace fjord {

/// What lstat says of a host path, as far as fjord cares.
struct LiveStat {
    LiveKind kind = LiveKind::absent;
    unsigned mode = 0; ///< permission bits
    uid_t uid = 0;
    gid_t gid = 0;
    std::uint64_t size = 0;
    std::uint64_t ino = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
};

/// The host filesystem below apply.root.
class RootedFs : public HostProbe {
  public:
    /// Opens apply.root (which must exist and be a folder).
    [[nodiscard]] static Result<RootedFs> open(const std::string &root);

    [[nodiscard]] Result<LiveKind> kind(const std::string &path) const override;
    /// lstat of a host path; kind absent when it does not exist.
    [[nodiscard]] Result<LiveStat> stat(const std::string &path) const;
    /// A regular file's content (never through a symlink); refuses more than max bytes.
    [[nodiscard]] Result<std::string> read_file(const std::string &path, std::uint64_t max) const;
    /// A symlink's target.
    [[nodiscard]] Result<std::string> read_link(const std::string &path) const;
    /// The Git blob id of a regular file's content.
    [[nodiscard]] Result<std::string> content_id(const std::string &path) const;

    /// Atomically replaces `path` with a file (tmp in the same folder, owner and mode set, fsync,
    /// rename). Missing parents are created. Returns the new file's stat.
    [[nodiscard]] Result<LiveStat> write_file(const std::string &path, std::string_view content, unsigned mode,
                                              uid_t uid, gid_t gid);
    /// Atomically replaces `path` with a symlink.
    [[nodiscard]] Status write_symlink(const std::string &path, const std::string &target, uid_t uid, gid_t gid);
    /// Unlinks a file or symlink; absent is fine.
    [[nodiscard]] Status remove(const std::string &path);
    /// Creates a folder (0755, root); existing is fine.
    [[nodiscard]] Status make_dir(const std::string &path);
    /// Removes a folder when it is empty; absent or not empty is fine (returns false then).
    [[nodiscard]] Result<bool> remove_dir_if_empty(const std::string &path);
    /// Removes the temporary file a crashed write of `path` may have left (either form).
    [[nodiscard]] Status remove_temp(const std::string &path);
    /// fsyncs every folder changed since the last call, making renames and unlinks durable.
    [[nodiscard]] Status sync();

    /// The name of the temporary file for `name` in the same folder: ".fjord-tmp." and 16 hex
    /// digits of its hash, 27 bytes whatever the name.
    [[nodiscard]] static std::string temp_name(const std::string &name);
    /// The temporary file's name before fjord bounded it, "." + name + ".fjord-tmp" (longer than
    /// NAME_MAX for names over 244 bytes); recovery still removes it.
    [[nodiscard]] static std::string old_temp_name(const std::string &name);
    /// Forgets the cached parent folder: every operation (apply, recovery, drift pass) starts
    /// from the root fd again, so a folder swapped on the host in between is never written through.
    void forget() const {
        cached_fd_.reset();
        cached_dir_.clear();
    }
    [[nodiscard]] const std::string &root() const { return root_; }

    RootedFs(RootedFs &&) = default;
    RootedFs &operator=(RootedFs &&) = default;

  private:
    friend class FolderWalk;
    RootedFs(std::string root, unique_fd fd) : root_(std::move(root)), root_fd_(std::move(fd)) {}
    /// The fd of the folder holding `path` and the last component; absent parent -> fd -1
    /// unless create is set.
    [[nodiscard]] Result<int> parent(const std::string &path, std::string &name, bool create) const;

    std::string root_;
    unique_fd root_fd_;
    // The last parent folder opened: plans run in path order, so consecutive paths share it.
    mutable std::string cached_dir_;
    mutable unique_fd cached_fd_;
    std::set<std::string> dirty_dirs_;
};

/// Reads host paths visited in sorted order (a generation's files, as a drift pass does) at the
/// cost of one fstatat each: every folder is opened once, relative to its parent's fd with
/// O_NOFOLLOW as RootedFs walks, and only the chain of folders from the root to the current one
/// is held open (at most `max_open` fds however deep paths go; a folder closed for room is
/// opened again when the walk comes back to it). A folder found missing or refused answers for
/// every path below it without another syscall. Answers and errors are RootedFs's.
class FolderWalk {
  public:
    explicit FolderWalk(const RootedFs &fs, std::size_t max_open = 32);

    /// lstat of a host path (as RootedFs::stat).
    [[nodiscard]] Result<LiveStat> stat(const std::string &path);
    /// As RootedFs's, through the folder this walk holds open.
    [[nodiscard]] Result<std::string> read_file(const std::string &path, std::uint64_t max);
    [[nodiscard]] Result<std::string> read_link(const std::string &path);
    [[nodiscard]] Result<std::string> content_id(const std::string &path);

    /// Folders opened so far (each once, unless closed for room) and open now.
    [[nodiscard]] std::size_t opened() const { return opened_; }
    [[nodiscard]] std::size_t open_now() const { return open_; }

  private:
    struct Level {
        std::size_t end; ///< dir_.substr(0, end) is this folder
        unique_fd fd;    ///< closed when evicted for room
    };
    /// The fd of the folder holding `path` (-1: a folder on the way is missing); `name` is
    /// the last component, pointing into `path` (NUL-terminated).
    [[nodiscard]] Result<int> folder_of(const std::string &path, const char *&name);
    [[nodiscard]] Result<int> enter(const std::string &path, std::string_view dir);
    /// The deepest open level's fd, opening it again when it was closed for room.
    [[nodiscard]] Result<int> deepest(const std::string &path);
    /// The answer for a folder that could not be opened: -1 when missing, else the error.
    [[nodiscard]] Result<int> stopped(const std::string &path, std::size_t end, int err) const;
    void make_room();
    void reset();

    const RootedFs &fs_;
    std::size_t max_open_;
    std::string dir_;           ///< the folder last entered ("" for the root), as asked
    std::vector<Level> chain_;  ///< its folders from the top, as far as they opened
    int stop_errno_ = 0;        ///< why the folder after chain_ did not open (0: all did)
    std::size_t stop_end_ = 0;  ///< that folder's end in dir_
    std::string comp_;          ///< scratch for one name
    std::size_t open_ = 0, opened_ = 0;
};

} // namespace fjord
