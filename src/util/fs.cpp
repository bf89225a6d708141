#include "util/fs.hpp"

#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/sysmacros.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {

std::string dirname_of(const std::string &path) {
    auto pos = path.find_last_of('/');
    if (pos == std::string::npos) return ".";
    if (pos == 0) return "/";
    return path.substr(0, pos);
}

Result<std::string> read_file(const std::string &path, std::uint64_t max) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno(path);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_errno(path);
    if (static_cast<std::uint64_t>(st.st_size) > max)
        return fail(Errc::invalid, path + ": larger than " + std::to_string(max) + " bytes");
    std::string out;
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    for (;;) {
        if (got == out.size()) out.resize(out.size() + 4096);
        ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(path);
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
        if (got > max) return fail(Errc::invalid, path + ": larger than " + std::to_string(max) + " bytes");
    }
    out.resize(got);
    return out;
}

Status fsync_dir(const std::string &dir) {
    unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_errno(dir);
    if (::fsync(fd.get()) < 0) return fail_errno("fsync " + dir);
    return {};
}

Status write_all(int fd, std::string_view data, const std::string &what) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("write " + what);
        }
        off += static_cast<std::size_t>(n);
    }
    return {};
}

Status write_file_atomic(const std::string &path, std::string_view data, mode_t mode, bool durable) {
    std::string tmp = path + ".tmp";
    unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) return fail_errno(tmp);
    if (auto w = write_all(fd.get(), data, tmp); !w) {
        ::unlink(tmp.c_str());
        return w;
    }
    if (::fchmod(fd.get(), mode) < 0 || (durable && ::fsync(fd.get()) < 0)) {
        ::unlink(tmp.c_str());
        return fail_errno("fsync " + tmp);
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        ::unlink(tmp.c_str());
        return fail_errno("rename " + tmp);
    }
    return durable ? fsync_dir(dirname_of(path)) : Status{};
}

Status mkdir_p(const std::string &path, mode_t mode) {
    if (path.empty()) return {};
    std::string cur;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        cur = path.substr(0, j);
        if (!cur.empty() && ::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) return fail_errno("mkdir " + cur);
        i = j + 1;
    }
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return fail_errno(path);
    if (!S_ISDIR(st.st_mode)) return fail(Errc::io, path + ": not a directory");
    return {};
}

namespace {

/// Who holds the flock on the file `fd` is open on, from /proc/locks: "PID 1234, fjordd", or ""
/// when it cannot be told (a message's hint, so nothing here is an error).
std::string flock_holder(int fd) {
    struct stat st;
    if (::fstat(fd, &st) < 0) return "";
    // /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" (device numbers in hex).
    char dev[64];
    std::snprintf(dev, sizeof dev, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev), static_cast<unsigned long long>(st.st_ino));
    std::ifstream in("/proc/locks");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string n, kind, advisory, mode, pid, where;
        if (!(words >> n >> kind >> advisory >> mode >> pid >> where) || kind != "FLOCK" || where != dev) continue;
        std::ifstream comm("/proc/" + pid + "/comm");
        std::string name;
        std::getline(comm, name);
        return "PID " + pid + (name.empty() ? "" : ", " + name);
    }
    return "";
}

} // namespace

Result<unique_fd> lock_file(const std::string &path) {
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail_errno(path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            std::string who = flock_holder(fd.get());
            return fail(Errc::busy, path + ": another fjord process" + (who.empty() ? "" : " (" + who + ")") + " holds the lock");
        }
        return fail_errno("flock " + path);
    }
    return fd;
}

} // namespace fjord
