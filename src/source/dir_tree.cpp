// A folder on disk as a TreeView, for `fjordctl validate`, `render` and tests. It reports what
// is on disk as Git would store it, and never follows a symlink: a link is an entry, not a way
// out of the folder.
#include "source/dir_tree.hpp"

#include "util/git_handles.hpp"
#include "util/hash.hpp"
#include "util/unique_fd.hpp"
#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {
namespace {

struct DirCloser {
    void operator()(DIR *d) const { ::closedir(d); }
};
using dir_ptr = std::unique_ptr<DIR, DirCloser>;

// libgit2 is used here only to hash files without reading them whole into memory.
struct LibGit2 {
    LibGit2() { git_libgit2_init(); }
    ~LibGit2() { git_libgit2_shutdown(); }
    LibGit2(const LibGit2 &) = delete;
    LibGit2 &operator=(const LibGit2 &) = delete;
};

// Splits "a/b/c" into components; refuses ".", ".." and empty ones so no path leaves root.
Result<std::vector<std::string>> components(const std::string &path) {
    std::vector<std::string> out;
    if (path.empty() || path == ".") return out;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        std::string c = path.substr(i, j - i);
        if (c.empty() || c == "." || c == "..")
            return fail(Errc::invalid, "path '" + path + "': empty, '.' or '..' component");
        out.push_back(std::move(c));
        i = j + 1;
    }
    return out;
}

Result<std::string> read_link_at(int dirfd, const std::string &name, const std::string &shown) {
    std::string target(256, '\0');
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (n < 0) return fail_errno("readlink " + shown);
        if (static_cast<std::size_t>(n) < target.size()) {
            target.resize(static_cast<std::size_t>(n));
            return target;
        }
        if (target.size() >= 65536) return fail(Errc::invalid, shown + ": symlink target too long");
        target.resize(target.size() * 2);
    }
}

// Hashes through /proc/self/fd so libgit2 streams the file we opened with O_NOFOLLOW (not a
// path someone could swap for a symlink meanwhile) without holding it whole in memory.
Result<std::string> hash_open_file(int fd, const std::string &shown) {
    git_oid oid;
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (git_odb_hashfile(&oid, proc.c_str(), GIT_OBJECT_BLOB) < 0)
        return fail(Errc::io, "hash " + shown + ": " + git_last_message());
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    return std::string(hex);
}

class DirTree final : public TreeView {
  public:
    DirTree(unique_fd root, std::string root_path) : root_(std::move(root)), root_path_(std::move(root_path)) {}

    Result<std::vector<TreeEntry>> list(const std::string &dir) const override {
        auto fd = open_dir(dir);
        if (!fd) return fail(fd.error());
        // fdopendir owns what it is given; give it a duplicate so `fd` stays ours to use.
        int dup = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return fail_errno("dup " + shown(dir));
        dir_ptr d(::fdopendir(dup));
        if (!d) {
            ::close(dup);
            return fail_errno("opendir " + shown(dir));
        }
        std::vector<TreeEntry> out;
        errno = 0;
        while (dirent *de = ::readdir(d.get())) {
            std::string name = de->d_name;
            if (name == "." || name == ".." || name == ".git") continue;
            std::string rel = dir.empty() || dir == "." ? name : dir + "/" + name;
            auto e = entry(fd->get(), name, rel);
            if (!e) return fail(e.error());
            out.push_back(std::move(*e));
            errno = 0;
        }
        if (errno != 0) return fail_errno("readdir " + shown(dir));
        std::sort(out.begin(), out.end(), [](const TreeEntry &a, const TreeEntry &b) { return a.name < b.name; });
        return out;
    }

    Result<std::uint64_t> blob_size(const std::string &id) const override {
        auto it = known_.find(id);
        if (it == known_.end()) return fail(Errc::not_found, "blob " + id + " is not in " + root_path_);
        return it->second.size;
    }

    Result<std::string> read_blob(const std::string &id, std::uint64_t max) const override {
        auto it = known_.find(id);
        if (it == known_.end()) return fail(Errc::not_found, "blob " + id + " is not in " + root_path_);
        const Known &k = it->second;
        auto slash = k.path.find_last_of('/');
        std::string parent = slash == std::string::npos ? "" : k.path.substr(0, slash);
        std::string name = slash == std::string::npos ? k.path : k.path.substr(slash + 1);
        auto dfd = open_dir(parent);
        if (!dfd) return fail(dfd.error());
        std::string data;
        if (k.symlink) {
            auto t = read_link_at(dfd->get(), name, shown(k.path));
            if (!t) return fail(t.error());
            data = std::move(*t);
        } else {
            unique_fd fd(::openat(dfd->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
            if (!fd) return fail_errno(shown(k.path));
            struct stat st;
            if (::fstat(fd.get(), &st) < 0) return fail_errno(shown(k.path));
            if (!S_ISREG(st.st_mode)) return fail(Errc::invalid, shown(k.path) + ": no longer a regular file");
            if (static_cast<std::uint64_t>(st.st_size) > max)
                return fail(Errc::invalid, shown(k.path) + ": larger than " + std::to_string(max) + " bytes");
            auto r = read_all(fd.get(), max, k.path);
            if (!r) return fail(r.error());
            data = std::move(*r);
        }
        if (data.size() > max)
            return fail(Errc::invalid, shown(k.path) + ": larger than " + std::to_string(max) + " bytes");
        // The map holds what list() saw; content that changed since would not be this blob.
        if (blob_id(data) != id) return fail(Errc::invalid, shown(k.path) + ": changed since it was listed");
        return data;
    }

    std::string commit() const override { return ""; }

  private:
    struct Known {
        std::string path;
        bool symlink = false;
        std::uint64_t size = 0;
    };

    std::string shown(const std::string &rel) const {
        return rel.empty() || rel == "." ? root_path_ : root_path_ + "/" + rel;
    }

    // Walks to `dir` one component at a time with O_NOFOLLOW, so a symlinked folder is
    // never entered.
    Result<unique_fd> open_dir(const std::string &dir) const {
        auto parts = components(dir);
        if (!parts) return fail(parts.error());
        unique_fd cur(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
        if (!cur) return fail_errno("dup " + root_path_);
        for (const auto &c : *parts) {
            unique_fd next(::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!next) {
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                    return fail(Errc::not_found, "no folder " + shown(dir));
                return fail_errno(shown(dir));
            }
            cur = std::move(next);
        }
        return cur;
    }

    static Result<std::string> read_all(int fd, std::uint64_t max, const std::string &rel) {
        std::string out;
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail_errno("read " + rel);
            }
            if (n == 0) return out;
            out.append(buf, static_cast<std::size_t>(n));
            if (out.size() > max) return fail(Errc::invalid, rel + ": larger than " + std::to_string(max) + " bytes");
        }
    }

    Result<TreeEntry> entry(int dirfd, const std::string &name, const std::string &rel) const {
        TreeEntry e;
        e.name = name;
        struct stat st;
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return fail_errno(shown(rel));
        if (S_ISREG(st.st_mode)) {
            // O_NONBLOCK: should the file become a fifo after fstatat, open must not hang.
            unique_fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
            if (!fd) return fail_errno(shown(rel));
            if (::fstat(fd.get(), &st) < 0) return fail_errno(shown(rel));
            if (!S_ISREG(st.st_mode)) return fail(Errc::invalid, shown(rel) + ": changed while listed");
            auto id = hash_open_file(fd.get(), shown(rel));
            if (!id) return fail(id.error());
            e.kind = EntryKind::file;
            e.executable = (st.st_mode & S_IXUSR) != 0;
            e.id = std::move(*id);
            known_[e.id] = Known{rel, false, static_cast<std::uint64_t>(st.st_size)};
        } else if (S_ISLNK(st.st_mode)) {
            auto target = read_link_at(dirfd, name, shown(rel));
            if (!target) return fail(target.error());
            e.kind = EntryKind::symlink;
            e.id = blob_id(*target);
            known_[e.id] = Known{rel, true, target->size()};
        } else if (S_ISDIR(st.st_mode)) {
            // A nested checkout (its own .git) is what Git would record as a submodule.
            struct stat g;
            unique_fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) return fail_errno(shown(rel));
            bool nested = ::fstatat(sub.get(), ".git", &g, AT_SYMLINK_NOFOLLOW) == 0;
            e.kind = nested ? EntryKind::submodule : EntryKind::dir;
        } else {
            e.kind = EntryKind::other; // devices, sockets, fifos: nothing Git could hold
        }
        return e;
    }

    LibGit2 lib_;
    unique_fd root_;
    std::string root_path_;
    // Filled by list() so read_blob() can find content by id, as in a Git object store.
    mutable std::map<std::string, Known> known_;
};

} // namespace

Result<std::unique_ptr<TreeView>> open_dir_tree(const std::string &root) {
    unique_fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) return fail(Errc::not_found, "no folder " + root);
        return fail_errno(root);
    }
    std::string shown = root.size() > 1 && root.back() == '/' ? root.substr(0, root.size() - 1) : root;
    return std::unique_ptr<TreeView>(std::make_unique<DirTree>(std::move(fd), std::move(shown)));
}

} // namespace fjord
