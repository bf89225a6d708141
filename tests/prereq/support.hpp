#pragma once
// Helpers for prereq tests: a temp folder that removes itself, and a fake sysfs tree laid out
// as the kernel lays out /sys (relative symlinks under dev/block and slaves/), so the
// resolver walks it exactly as it walks the real one.
#include <filesystem>
#include <fstream>
#include <stdlib.h>
#include <string>

namespace fjord::test {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/fjord-prereq-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
};

inline void write(const std::filesystem::path &p, const std::string &text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

/// A sysfs tree in a temp folder.
struct FakeSys {
    TempDir dir;
    std::filesystem::path root{dir.path};

    /// A block device at DEVPATH (relative to the root, e.g. "devices/virtual/block/dm-0"),
    /// reachable as dev/block/MAJMIN. With a scheduler line it gets a queue/ (whole disks do).
    std::filesystem::path device(const std::string &devpath, const std::string &majmin, const std::string &scheduler = "",
                                 const std::string &rotational = "0") {
        auto d = root / devpath;
        std::filesystem::create_directories(d);
        write(d / "dev", majmin + "\n");
        if (!scheduler.empty()) {
            write(d / "queue/scheduler", scheduler + "\n");
            write(d / "queue/rotational", rotational + "\n");
        }
        link(root / "dev/block" / majmin, d);
        return d;
    }
    /// A partition NAME of the whole disk at DISK.
    std::filesystem::path partition(const std::filesystem::path &disk, const std::string &name, const std::string &majmin) {
        auto rel = std::filesystem::relative(disk / name, root).string();
        auto p = device(rel, majmin);
        write(p / "partition", "1\n");
        return p;
    }
    /// HOLDER/slaves/NAME -> SLAVE, as device-mapper and md show what they are built on.
    void slave(const std::filesystem::path &holder, const std::filesystem::path &slave) {
        link(holder / "slaves" / slave.filename(), slave);
    }
    static void link(const std::filesystem::path &at, const std::filesystem::path &target) {
        std::filesystem::create_directories(at.parent_path());
        std::filesystem::create_directory_symlink(std::filesystem::relative(target, at.parent_path()), at);
    }
};

} // namespace fjord::test
