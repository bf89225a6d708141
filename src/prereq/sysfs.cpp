#include "prereq/sysfs.hpp"

#include "prereq/parse.hpp"
#include "util/fs.hpp"
#include <algorithm>
#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace fjord::prereq {
namespace {

namespace fs = std::filesystem;

// A stack of dm over md over partitions is a handful of levels; more means a cycle.
constexpr int max_depth = 16;
// sysfs attributes all claim st_size 4096 (a page), whatever they hold.
constexpr std::uint64_t sysfs_max = 64u << 10;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

DiskFacts read_disk(const fs::path &sys_root, const fs::path &dir) {
    DiskFacts d;
    d.name = dir.filename().string();
    std::string rel = dir.string().substr(std::min(dir.string().size(), sys_root.string().size()));
    d.transport = transport_of(d.name, rel);
    std::vector<std::string> problems;
    if (auto r = read_file((dir / "queue/rotational").string(), sysfs_max)) d.rotational = trim(*r) == "1";
    else problems.push_back(r.error().message);
    if (auto s = read_file((dir / "queue/scheduler").string(), sysfs_max)) {
        auto line = parse_scheduler(*s);
        d.scheduler = line.active;
        d.schedulers = line.offered;
    } else {
        problems.push_back(s.error().message);
    }
    for (const auto &p : problems) d.error += (d.error.empty() ? "" : "; ") + p;
    return d;
}

Status walk(const fs::path &sys_root, fs::path dir, int depth, std::vector<DiskFacts> &out, std::vector<std::string> &via) {
    if (depth > max_depth) return fail(Errc::invalid, "block devices stacked deeper than " + std::to_string(max_depth) + " levels");
    std::error_code ec;
    if (fs::exists(dir / "partition", ec)) dir = dir.parent_path();
    std::vector<std::string> slaves;
    for (const auto &e : fs::directory_iterator(dir / "slaves", ec)) slaves.push_back(e.path().filename().string());
    if (slaves.empty()) {
        DiskFacts d = read_disk(sys_root, dir);
        for (const auto &o : out)
            if (o.name == d.name) return {};
        out.push_back(std::move(d));
        return {};
    }
    std::sort(slaves.begin(), slaves.end());
    std::string name = dir.filename().string();
    if (std::find(via.begin(), via.end(), name) == via.end()) via.push_back(name);
    for (const auto &s : slaves) {
        auto next = fs::canonical(dir / "slaves" / s, ec);
        if (ec) return fail(Errc::io, (dir / "slaves" / s).string() + ": " + ec.message());
        FJORD_TRY(walk(sys_root, next, depth + 1, out, via));
    }
    return {};
}

std::string dev_name(dev_t d) { return std::to_string(major(d)) + ":" + std::to_string(minor(d)); }

const MountEntry *mount_of(const std::vector<MountEntry> &mounts, dev_t d) {
    for (const auto &m : mounts)
        if (m.major == major(d) && m.minor == minor(d)) return &m;
    return nullptr;
}

void describe(FsFacts &f, dev_t dev, const std::vector<MountEntry> &mounts, const HostRoots &roots, int depth) {
    if (depth > max_depth) {
        f.error = "filesystems stacked deeper than " + std::to_string(max_depth) + " levels";
        return;
    }
    const MountEntry *m = mount_of(mounts, dev);
    if (m && depth == 0) {
        f.fs_type = m->fs_type;
        f.source = m->source;
    }
    auto disks_of = [&](dev_t d) {
        auto disks = whole_disks(roots.sys, major(d), minor(d), f.via);
        if (disks) f.disks = std::move(*disks);
        else f.error = "block device " + dev_name(d) + ": " + disks.error().message;
    };
    if (major(dev) != 0) return disks_of(dev);
    // Device number 0:N is the kernel's anonymous range: the filesystem names no device itself.
    if (!m) {
        f.error = "device " + dev_name(dev) + " is not in " + roots.proc + "/self/mountinfo";
        return;
    }
    if (m->fs_type == "overlay") {
        // The writes land in upperdir (or, read-only, in the first lowerdir): judge its disk.
        std::string dir = mount_option(m->super_options, "upperdir");
        if (dir.empty()) dir = mount_option(m->super_options, "lowerdir").substr(0, mount_option(m->super_options, "lowerdir").find(':'));
        struct stat st;
        if (dir.empty() || ::stat(dir.c_str(), &st) < 0) {
            f.no_block_device = true;
            f.error = "no block device (overlay whose upper folder cannot be found)";
            return;
        }
        f.via.push_back("overlay");
        return describe(f, st.st_dev, mounts, roots, depth + 1);
    }
    if (starts_with(m->source, "/dev/")) {
        // btrfs gives each subvolume an anonymous device; its source names the real one.
        struct stat st;
        if (::stat(m->source.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) return disks_of(st.st_rdev);
    }
    f.no_block_device = true;
    f.error = "no block device (" + m->fs_type + (m->source.empty() || m->source == m->fs_type ? "" : " " + m->source) + ")";
}

} // namespace

std::string transport_of(std::string_view name, std::string_view path) {
    auto has = [&](std::string_view s) { return path.find(s) != std::string_view::npos; };
    if (starts_with(name, "nvme") || has("/nvme")) return "nvme";
    if (starts_with(name, "loop")) return "loop";
    if (starts_with(name, "xvd") || has("/xen/") || has("/vbd-")) return "xen";
    if (starts_with(name, "mmcblk")) return "mmc";
    // virtio-scsi, SATA, SAS and USB disks all appear through the SCSI layer as sdX.
    if (starts_with(name, "sd") || (has("/host") && has("/target"))) return "scsi";
    if (starts_with(name, "vd") || has("/virtio")) return "virtio";
    return "other";
}

Result<std::vector<DiskFacts>> whole_disks(const std::string &sys, unsigned maj, unsigned min, std::vector<std::string> &via) {
    std::error_code ec;
    fs::path root = fs::canonical(sys, ec);
    if (ec) return fail(Errc::io, sys + ": " + ec.message());
    fs::path link = root / "dev/block" / (std::to_string(maj) + ":" + std::to_string(min));
    fs::path dir = fs::canonical(link, ec);
    if (ec) return fail(Errc::not_found, link.string() + ": " + ec.message());
    std::vector<DiskFacts> out;
    FJORD_TRY(walk(root, dir, 0, out, via));
    return out;
}

std::vector<FsFacts> filesystems_of(const std::vector<JudgedPath> &paths, const HostRoots &roots) {
    std::vector<MountEntry> mounts;
    if (auto t = read_file(roots.proc + "/self/mountinfo", 16u << 20)) mounts = parse_mountinfo(*t);
    std::vector<FsFacts> out;
    std::vector<std::optional<dev_t>> devs; // parallel to out
    for (const auto &p : paths) {
        struct stat st;
        if (::stat(p.at.c_str(), &st) < 0) {
            FsFacts f;
            f.paths = {p.label};
            f.missing = errno == ENOENT;
            f.error = fail_errno(p.at).value().message;
            out.push_back(std::move(f));
            devs.emplace_back();
            continue;
        }
        auto same = std::find(devs.begin(), devs.end(), std::optional<dev_t>(st.st_dev));
        if (same != devs.end()) {
            out[static_cast<std::size_t>(same - devs.begin())].paths.push_back(p.label);
            continue;
        }
        FsFacts f;
        f.paths = {p.label};
        f.device = dev_name(st.st_dev);
        describe(f, st.st_dev, mounts, roots, 0);
        out.push_back(std::move(f));
        devs.emplace_back(st.st_dev);
    }
    return out;
}

} // namespace fjord::prereq
