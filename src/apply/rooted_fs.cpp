#include "apply/rooted_fs.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"
#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {
namespace {

LiveStat to_live(const struct stat &st) {
    LiveStat l;
    if (S_ISREG(st.st_mode)) l.kind = LiveKind::file;
    else if (S_ISLNK(st.st_mode)) l.kind = LiveKind::symlink;
    else if (S_ISDIR(st.st_mode)) l.kind = LiveKind::dir;
    else l.kind = LiveKind::other;
    l.mode = st.st_mode & 07777;
    l.uid = st.st_uid;
    l.gid = st.st_gid;
    l.size = static_cast<std::uint64_t>(st.st_size);
    l.ino = st.st_ino;
    l.mtime_ns = std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    l.ctime_ns = std::int64_t(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
    return l;
}

// Reads of a name in an open folder, for RootedFs and FolderWalk alike; errors name root + path.
Result<std::string> read_file_at(int dfd, const char *name, const std::string &root, const std::string &path,
                                 std::uint64_t max) {
    unique_fd fd(::openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return fail_errno(root + path);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_errno(root + path);
    if (!S_ISREG(st.st_mode)) return fail(Errc::refused, path + ": not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > max)
        return fail(Errc::refused, path + ": larger than " + std::to_string(max) + " bytes");
    std::string out(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("read " + root + path);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

Result<std::string> read_link_at(int dfd, const char *name, const std::string &root, const std::string &path) {
    char buf[4096];
    ssize_t n = ::readlinkat(dfd, name, buf, sizeof buf);
    if (n < 0) return fail_errno("readlink " + root + path);
    return std::string(buf, static_cast<std::size_t>(n));
}

Result<std::string> content_id_at(int dfd, const char *name, const std::string &root, const std::string &path) {
    unique_fd fd(::openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return fail_errno(root + path);
    return blob_id_fd(fd.get());
}

Result<std::string> not_there(const std::string &path) { return fail(Errc::not_found, path + ": does not exist"); }

} // namespace

Result<RootedFs> RootedFs::open(const std::string &root) {
    if (root.empty() || root[0] != '/') return fail(Errc::invalid, "apply.root " + root + ": must be an absolute path");
    unique_fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_errno("apply.root " + root);
    std::string r = root;
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    return RootedFs(r, std::move(fd));
}

// A fixed-length name whatever `name` is: "." + name + ".fjord-tmp" went past NAME_MAX for names
// of 245-255 bytes, failing the write and every recovery after it. Deterministic, so recovery
// finds it; two names sharing it in one folder are only ever written one after the other.
std::string RootedFs::temp_name(const std::string &name) { return ".fjord-tmp." + blob_id(name).substr(0, 16); }

std::string RootedFs::old_temp_name(const std::string &name) { return "." + name + ".fjord-tmp"; }

Result<int> RootedFs::parent(const std::string &path, std::string &name, bool create) const {
    if (path.size() < 2 || path[0] != '/' || path.back() == '/')
        return fail(Errc::invalid, path + ": not an absolute file path");
    auto slash = path.find_last_of('/');
    name = path.substr(slash + 1);
    std::string dir = path.substr(0, slash); // "" for the root
    if (dir.empty()) return root_fd_.get();
    if (cached_fd_ && cached_dir_ == dir) return cached_fd_.get();

    unique_fd cur;
    int at = root_fd_.get();
    std::size_t pos = 1;
    while (pos <= dir.size()) {
        auto next = dir.find('/', pos);
        if (next == std::string::npos) next = dir.size();
        std::string comp = dir.substr(pos, next - pos);
        if (comp.empty() || comp == "." || comp == "..") return fail(Errc::invalid, path + ": bad path component");
        int fd = ::openat(at, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            if (::mkdirat(at, comp.c_str(), 0755) < 0 && errno != EEXIST)
                return fail_errno("mkdir " + root_ + dir.substr(0, next));
            fd = ::openat(at, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
            if (errno == ENOENT) return -1;
            if (errno == ELOOP || errno == ENOTDIR)
                return fail(Errc::refused, path + ": " + dir.substr(0, next) +
                                               " is a symlink or not a folder on the host; fjord does not write through it");
            return fail_errno(root_ + dir.substr(0, next));
        }
        cur.reset(fd);
        at = fd;
        pos = next + 1;
    }
    cached_dir_ = dir;
    cached_fd_ = std::move(cur);
    return cached_fd_.get();
}

Result<LiveStat> RootedFs::stat(const std::string &path) const {
    std::string name;
    auto dfd = parent(path, name, false);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return LiveStat{};
    struct stat st;
    if (::fstatat(*dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return LiveStat{};
        return fail_errno(root_ + path);
    }
    return to_live(st);
}

Result<LiveKind> RootedFs::kind(const std::string &path) const {
    auto st = stat(path);
    if (!st) return fail(std::move(st.error()));
    return st->kind;
}

Result<std::string> RootedFs::read_file(const std::string &path, std::uint64_t max) const {
    std::string name;
    auto dfd = parent(path, name, false);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return not_there(path);
    return read_file_at(*dfd, name.c_str(), root_, path, max);
}

Result<std::string> RootedFs::read_link(const std::string &path) const {
    std::string name;
    auto dfd = parent(path, name, false);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return not_there(path);
    return read_link_at(*dfd, name.c_str(), root_, path);
}

Result<std::string> RootedFs::content_id(const std::string &path) const {
    std::string name;
    auto dfd = parent(path, name, false);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return not_there(path);
    return content_id_at(*dfd, name.c_str(), root_, path);
}

Result<LiveStat> RootedFs::write_file(const std::string &path, std::string_view content, unsigned mode, uid_t uid,
                                      gid_t gid) {
    std::string name;
    auto dfd = parent(path, name, true);
    if (!dfd) return fail(std::move(dfd.error()));
    std::string tmp = temp_name(name);
    if (::unlinkat(*dfd, tmp.c_str(), 0) < 0 && errno != ENOENT) return fail_errno("unlink " + root_ + path + " (temp)");
    unique_fd fd(::openat(*dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return fail_errno("create temp for " + root_ + path);
    auto cleanup = [&] { ::unlinkat(*dfd, tmp.c_str(), 0); };
    if (auto r = write_all(fd.get(), content, root_ + path); !r) {
        cleanup();
        return fail(std::move(r.error()));
    }
    // Owner before mode: fchown clears setuid bits, and mode must be what the spec says.
    if ((::geteuid() == 0 || uid != ::geteuid() || gid != ::getegid()) && ::fchown(fd.get(), uid, gid) < 0) {
        cleanup();
        return fail_errno("chown " + root_ + path);
    }
    if (::fchmod(fd.get(), mode) < 0 || ::fsync(fd.get()) < 0) {
        cleanup();
        return fail_errno("fsync " + root_ + path);
    }
    if (::renameat(*dfd, tmp.c_str(), *dfd, name.c_str()) < 0) {
        int err = errno;
        cleanup();
        if (err == EISDIR || err == ENOTEMPTY)
            return fail(Errc::refused, path + ": is a folder on the host; fjord does not replace folders with files");
        return fail_errno("rename into " + root_ + path, err);
    }
    // After the rename: it changes the file's ctime, and the drift pass compares with this stat.
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_errno(root_ + path);
    dirty_dirs_.insert(dirname_of(path));
    return to_live(st);
}

Status RootedFs::write_symlink(const std::string &path, const std::string &target, uid_t uid, gid_t gid) {
    std::string name;
    auto dfd = parent(path, name, true);
    if (!dfd) return fail(std::move(dfd.error()));
    std::string tmp = temp_name(name);
    if (::unlinkat(*dfd, tmp.c_str(), 0) < 0 && errno != ENOENT) return fail_errno("unlink " + root_ + path + " (temp)");
    if (::symlinkat(target.c_str(), *dfd, tmp.c_str()) < 0) return fail_errno("symlink " + root_ + path);
    if (::geteuid() == 0 && ::fchownat(*dfd, tmp.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
        ::unlinkat(*dfd, tmp.c_str(), 0);
        return fail_errno("chown " + root_ + path);
    }
    if (::renameat(*dfd, tmp.c_str(), *dfd, name.c_str()) < 0) {
        ::unlinkat(*dfd, tmp.c_str(), 0);
        return fail_errno("rename into " + root_ + path);
    }
    dirty_dirs_.insert(dirname_of(path));
    return {};
}

Status RootedFs::remove(const std::string &path) {
    std::string name;
    auto dfd = parent(path, name, false);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return {};
    if (::unlinkat(*dfd, name.c_str(), 0) < 0 && errno != ENOENT) return fail_errno("unlink " + root_ + path);
    dirty_dirs_.insert(dirname_of(path));
    return {};
}

Status RootedFs::remove_temp(const std::string &path) {
    std::string name;
    auto dfd = parent(path, name, false);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return {};
    // The old form too: a host upgraded from an older fjord may hold one of those. A name too
    // long to exist (ENAMETOOLONG: the old form of a long name) was never made.
    for (const auto &tmp : {temp_name(name), old_temp_name(name)}) {
        if (::unlinkat(*dfd, tmp.c_str(), 0) == 0) dirty_dirs_.insert(dirname_of(path));
        else if (errno != ENOENT && errno != ENAMETOOLONG) return fail_errno("unlink temp of " + root_ + path);
    }
    return {};
}

Status RootedFs::make_dir(const std::string &path) {
    std::string name;
    auto dfd = parent(path, name, true);
    if (!dfd) return fail(std::move(dfd.error()));
    if (::mkdirat(*dfd, name.c_str(), 0755) < 0) {
        if (errno != EEXIST) return fail_errno("mkdir " + root_ + path);
        struct stat st;
        if (::fstatat(*dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            return fail(Errc::refused, path + ": exists on the host and is not a folder");
        return {};
    }
    dirty_dirs_.insert(dirname_of(path));
    return {};
}

Result<bool> RootedFs::remove_dir_if_empty(const std::string &path) {
    std::string name;
    auto dfd = parent(path, name, false);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return false;
    if (cached_dir_ == path || cached_dir_.rfind(path + "/", 0) == 0) {
        cached_fd_.reset();
        cached_dir_.clear();
    }
    if (::unlinkat(*dfd, name.c_str(), AT_REMOVEDIR) < 0) {
        if (errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST) return false;
        return fail_errno("rmdir " + root_ + path);
    }
    dirty_dirs_.insert(dirname_of(path));
    return true;
}

Status RootedFs::sync() {
    for (const auto &dir : dirty_dirs_) {
        std::string name;
        // parent() of "dir/x" opens dir itself; the root is its own case.
        int fd = root_fd_.get();
        if (dir != "/") {
            auto dfd = parent(dir + "/x", name, false);
            if (!dfd) return fail(std::move(dfd.error()));
            if (*dfd < 0) continue; // removed since
            fd = *dfd;
        }
        if (::fsync(fd) < 0) return fail_errno("fsync " + root_ + dir);
    }
    dirty_dirs_.clear();
    return {};
}

FolderWalk::FolderWalk(const RootedFs &fs, std::size_t max_open) : fs_(fs), max_open_(std::max<std::size_t>(max_open, 2)) {}

Result<int> FolderWalk::stopped(const std::string &path, std::size_t end, int err) const {
    if (err == ENOENT) return -1;
    // The words of RootedFs::parent, so an event reads the same whichever walk found it.
    if (err == ELOOP || err == ENOTDIR)
        return fail(Errc::refused, path + ": " + dir_.substr(0, end) +
                                       " is a symlink or not a folder on the host; fjord does not write through it");
    return fail_errno(fs_.root_ + dir_.substr(0, end), err);
}

// Nothing of the walk is kept: the next path starts from the root again.
void FolderWalk::reset() {
    chain_.clear();
    open_ = 0;
    dir_.clear();
    stop_errno_ = 0;
}

void FolderWalk::make_room() {
    if (open_ < max_open_) return;
    // The shallowest open folder: the walk comes back to it last. Never the deepest, which the
    // next folder is opened from.
    for (std::size_t i = 0; i + 1 < chain_.size(); ++i)
        if (chain_[i].fd) {
            chain_[i].fd.reset();
            --open_;
            return;
        }
}

Result<int> FolderWalk::deepest(const std::string &path) {
    if (chain_.empty()) return fs_.root_fd_.get();
    std::size_t d = chain_.size() - 1;
    if (chain_[d].fd) return chain_[d].fd.get();
    // Closed for room: opened again from the nearest open folder above it, a name at a time.
    std::size_t i = d;
    while (i > 0 && !chain_[i - 1].fd) --i;
    int at = i == 0 ? fs_.root_fd_.get() : chain_[i - 1].fd.get();
    unique_fd cur;
    for (; i <= d; ++i) {
        std::size_t pos = i == 0 ? 1 : chain_[i - 1].end + 1;
        comp_.assign(dir_, pos, chain_[i].end - pos);
        unique_fd fd(::openat(at, comp_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return stopped(path, chain_[i].end, errno);
        ++opened_;
        cur = std::move(fd);
        at = cur.get();
    }
    make_room();
    chain_[d].fd = std::move(cur);
    ++open_;
    return at;
}

Result<int> FolderWalk::enter(const std::string &path, std::string_view dir) {
    if (dir != dir_) {
        // The folders the new one shares with the chain stay open; the rest are closed.
        std::size_t m = static_cast<std::size_t>(std::mismatch(dir.begin(), dir.end(), dir_.begin(), dir_.end()).first - dir.begin());
        auto shared = [&](std::size_t end) { return end < m || (end == m && (m == dir.size() || dir[m] == '/')); };
        std::size_t keep = 0;
        while (keep < chain_.size() && shared(chain_[keep].end)) ++keep;
        bool same_stop = stop_errno_ && keep == chain_.size() && shared(stop_end_);
        for (std::size_t i = keep; i < chain_.size(); ++i)
            if (chain_[i].fd) --open_;
        chain_.resize(keep);
        dir_.assign(dir);
        if (!same_stop) {
            stop_errno_ = 0;
            std::size_t pos = keep ? chain_.back().end + 1 : 1;
            while (pos <= dir_.size()) {
                std::size_t next = dir_.find('/', pos);
                if (next == std::string::npos) next = dir_.size();
                auto at = deepest(path); // before comp_ is set: reopening a folder uses it too
                if (!at) {
                    reset();
                    return fail(std::move(at.error()));
                }
                comp_.assign(dir_, pos, next - pos);
                if (comp_.empty() || comp_ == "." || comp_ == "..") {
                    reset();
                    return fail(Errc::invalid, path + ": bad path component");
                }
                int fd = ::openat(*at, comp_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                    stop_errno_ = errno;
                    stop_end_ = next;
                    break;
                }
                ++opened_;
                make_room();
                chain_.push_back({next, unique_fd(fd)});
                ++open_;
                pos = next + 1;
            }
        }
    }
    if (stop_errno_) return stopped(path, stop_end_, stop_errno_);
    return deepest(path);
}

Result<int> FolderWalk::folder_of(const std::string &path, const char *&name) {
    if (path.size() < 2 || path[0] != '/' || path.back() == '/')
        return fail(Errc::invalid, path + ": not an absolute file path");
    auto slash = path.find_last_of('/');
    name = path.c_str() + slash + 1;
    if (slash == 0) return fs_.root_fd_.get(); // the chain stays as it is for the next path
    return enter(path, std::string_view(path).substr(0, slash));
}

Result<LiveStat> FolderWalk::stat(const std::string &path) {
    const char *name = nullptr;
    auto dfd = folder_of(path, name);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return LiveStat{};
    struct stat st;
    if (::fstatat(*dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return LiveStat{};
        return fail_errno(fs_.root_ + path);
    }
    return to_live(st);
}

Result<std::string> FolderWalk::read_file(const std::string &path, std::uint64_t max) {
    const char *name = nullptr;
    auto dfd = folder_of(path, name);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return not_there(path);
    return read_file_at(*dfd, name, fs_.root_, path, max);
}

Result<std::string> FolderWalk::read_link(const std::string &path) {
    const char *name = nullptr;
    auto dfd = folder_of(path, name);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return not_there(path);
    return read_link_at(*dfd, name, fs_.root_, path);
}

Result<std::string> FolderWalk::content_id(const std::string &path) {
    const char *name = nullptr;
    auto dfd = folder_of(path, name);
    if (!dfd) return fail(std::move(dfd.error()));
    if (*dfd < 0) return not_there(path);
    return content_id_at(*dfd, name, fs_.root_, path);
}

} // namespace fjord
