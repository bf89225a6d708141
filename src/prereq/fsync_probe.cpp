#include "prereq/fsync_probe.hpp"

#include "prereq/parse.hpp"
#include "util/unique_fd.hpp"
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace fjord::prereq {
namespace {

// Space the probe leaves free on top of its own file, so it never fills a disk.
constexpr std::uint64_t space_margin = 64ull << 20;

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Removes the named fallback file on every way out of the probe.
struct Unlinker {
    std::string path;
    Unlinker() = default;
    Unlinker(const Unlinker &) = delete;
    Unlinker &operator=(const Unlinker &) = delete;
    ~Unlinker() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

std::string err(const std::string &what) { return what + ": " + std::strerror(errno); }

// Fresh bytes for every block, as fio writes them, so no layer can dedupe or compress the probe away.
void fill(std::vector<unsigned char> &buf, std::uint64_t &state) {
    for (std::size_t i = 0; i < buf.size(); i += 8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::memcpy(buf.data() + i, &state, std::min<std::size_t>(8, buf.size() - i));
    }
}

} // namespace

FsyncFacts probe_fdatasync(const std::string &dir, std::uint64_t size, const std::atomic<bool> *cancel, std::chrono::seconds limit) {
    FsyncFacts f;
    f.dir = dir;
    f.at = std::time(nullptr);
    struct statvfs vfs;
    if (::statvfs(dir.c_str(), &vfs) < 0) {
        f.error = err(dir);
        return f;
    }
    std::uint64_t avail = std::uint64_t(vfs.f_bavail) * vfs.f_frsize;
    if (avail < size + space_margin) {
        f.error = "not probed: " + dir + " has " + std::to_string(avail >> 20) + " MiB free, the probe needs " +
                  std::to_string((size + space_margin) >> 20) + " MiB";
        return f;
    }

    Unlinker named;
    unique_fd fd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    if (!fd && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        std::string tmpl = dir + (dir.empty() || dir.back() != '/' ? "/" : "") + ".fjord-probe-XXXXXX";
        fd.reset(::mkostemp(tmpl.data(), O_CLOEXEC));
        if (fd) named.path = tmpl;
    }
    if (!fd) {
        f.error = err("create a probe file in " + dir);
        return f;
    }
    // fio lays the file out with fallocate first; doing the same keeps the two comparable.
    if (::fallocate(fd.get(), 0, 0, static_cast<off_t>(size)) < 0 && errno != EOPNOTSUPP) {
        f.error = err("fallocate " + std::to_string(size) + " bytes in " + dir);
        return f;
    }
    (void)::posix_fadvise(fd.get(), 0, static_cast<off_t>(size), POSIX_FADV_DONTNEED);

    std::uint64_t blocks = std::max<std::uint64_t>(1, size / probe_block);
    std::vector<std::int64_t> lat;
    lat.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(blocks, 1u << 22)));
    std::vector<unsigned char> buf(probe_block);
    std::uint64_t rng = 0x9e3779b97f4a7c15ull ^ static_cast<std::uint64_t>(now_ns());
    std::int64_t start = now_ns(), deadline = start + std::int64_t(limit.count()) * 1'000'000'000;
    for (std::uint64_t i = 0; i < blocks; ++i) {
        if (cancel && cancel->load(std::memory_order_relaxed)) {
            f.error = "probe cancelled";
            return f;
        }
        if (now_ns() > deadline) {
            f.stopped_early = true;
            break;
        }
        fill(buf, rng);
        std::size_t off = 0;
        while (off < buf.size()) {
            ssize_t n = ::write(fd.get(), buf.data() + off, buf.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                f.error = err("write to a probe file in " + dir);
                return f;
            }
            off += static_cast<std::size_t>(n);
        }
        std::int64_t t0 = now_ns();
        if (::fdatasync(fd.get()) < 0) {
            f.error = err("fdatasync of a probe file in " + dir);
            return f;
        }
        lat.push_back(now_ns() - t0);
        f.bytes += buf.size();
    }
    f.seconds = double(now_ns() - start) / 1e9;
    f.writes = lat.size();
    std::sort(lat.begin(), lat.end());
    f.p50_ns = percentile(lat, 50);
    f.p99_ns = percentile(lat, 99);
    f.max_ns = lat.empty() ? 0 : lat.back();
    return f;
}

} // namespace fjord::prereq
