#include "prereq/prereq.hpp"

#include "prereq/fsync_probe.hpp"
#include "prereq/virt.hpp"
#include "util/fs.hpp"
#include <algorithm>
#include <cerrno>
#include <ctime>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <thread>

namespace fjord::prereq {
namespace {

Result<CpuTimes> read_cpu_times(const std::string &proc) {
    auto t = read_file(proc + "/stat", 1u << 20);
    if (!t) return fail(std::move(t.error()));
    return parse_cpu_times(*t);
}

MemFacts read_memory(const std::string &proc) {
    MemFacts m;
    auto t = read_file(proc + "/meminfo", 1u << 20);
    auto parsed = t ? parse_meminfo(*t) : Result<MemLine>(fail(t.error()));
    if (!parsed) m.error = parsed.error().message;
    else m.available = parsed->available, m.total = parsed->total;
    return m;
}

SpaceFacts read_space(const std::string &label, const std::string &dir) {
    SpaceFacts s;
    s.dir = label;
    struct statvfs v;
    if (::statvfs(dir.c_str(), &v) < 0) {
        s.error = fail_errno(dir).value().message;
        return s;
    }
    // f_bavail, not f_bfree: what `df` calls available, without the blocks kept for root.
    s.avail_bytes = std::uint64_t(v.f_bavail) * v.f_frsize;
    s.total_bytes = std::uint64_t(v.f_blocks) * v.f_frsize;
    s.avail_inodes = v.f_favail;
    s.total_inodes = v.f_files;
    return s;
}

} // namespace

std::string nearest_existing(const std::string &path) {
    std::string p = path.empty() ? "/" : path;
    struct stat st;
    while (::stat(p.c_str(), &st) < 0 && p != "/" && p != ".") p = dirname_of(p);
    return p;
}

std::vector<FsyncFacts> run_probes(const std::vector<ProbeTarget> &targets, std::uint64_t size, const std::atomic<bool> *cancel) {
    std::vector<FsyncFacts> out;
    for (const auto &t : targets) {
        if (cancel && cancel->load()) break;
        FsyncFacts f;
        if (t.error.empty()) {
            f = probe_fdatasync(t.dir, size, cancel);
        } else {
            f.dir = t.dir;
            f.error = t.error;
            f.at = std::time(nullptr);
        }
        f.paths = t.paths;
        out.push_back(std::move(f));
    }
    return out;
}

Prereq::Prereq(const Config &cfg, HostRoots roots) : roots_(std::move(roots)) { reconfigure(cfg); }

void Prereq::reconfigure(const Config &cfg) {
    cfg_ = cfg.prerequisites;
    apply_root_ = cfg.apply.root;
    state_dir_ = cfg.state.dir;
}

std::vector<JudgedPath> Prereq::judged_paths() const {
    // fjord makes apply.root and state.dir itself, so before it has, their disk is that of the
    // nearest folder that exists. prerequisites.paths are the operator's: missing is reported.
    std::vector<JudgedPath> out{{apply_root_, nearest_existing(apply_root_)}, {state_dir_, nearest_existing(state_dir_)}};
    for (const auto &p : cfg_.paths) out.push_back({p, p});
    return out;
}

void Prereq::run_instant() {
    m_.virt = read_virt(roots_.sys, roots_.cpuid);
    m_.filesystems = filesystems_of(judged_paths(), roots_);
    m_.memory = read_memory(roots_.proc);
    m_.space = read_space(state_dir_, nearest_existing(state_dir_));
}

void Prereq::steal_begin() {
    steal_start_.reset();
    auto c = read_cpu_times(roots_.proc);
    steal_started_ = std::chrono::steady_clock::now();
    if (c) {
        steal_start_ = *c;
        return;
    }
    StealFacts s;
    s.error = c.error().message;
    s.at = std::time(nullptr);
    m_.steal = s;
}

void Prereq::steal_end() {
    if (!steal_start_) return; // steal_begin() already recorded why there is no sample
    StealFacts s;
    s.at = std::time(nullptr);
    s.window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - steal_started_).count();
    auto c = read_cpu_times(roots_.proc);
    auto p = c ? steal_percent(*steal_start_, *c) : Result<double>(fail(c.error()));
    if (p) s.percent = *p;
    else s.error = p.error().message;
    m_.steal = s;
    steal_start_.reset();
}

void Prereq::measure_steal() {
    steal_begin();
    // One wait for one measurement window (not a polling loop): the window is the measurement.
    std::this_thread::sleep_for(cfg_.steal_window);
    steal_end();
}

std::vector<ProbeTarget> Prereq::probe_targets() const {
    std::vector<ProbeTarget> out;
    std::vector<dev_t> devs;
    auto add = [&](const std::string &label, const std::string &dir) {
        struct stat st;
        if (::stat(dir.c_str(), &st) < 0) {
            out.push_back({dir, {label}, fail_errno(dir).value().message});
            devs.push_back(dev_t(-1));
            return;
        }
        if (!S_ISDIR(st.st_mode)) {
            out.push_back({dir, {label}, dir + ": not a folder"});
            devs.push_back(dev_t(-1));
            return;
        }
        for (std::size_t i = 0; i < devs.size(); ++i)
            if (devs[i] == st.st_dev && out[i].error.empty()) {
                out[i].paths.push_back(label);
                return;
            }
        out.push_back({dir, {label}, ""});
        devs.push_back(st.st_dev);
    };
    add(state_dir_, nearest_existing(state_dir_));
    for (const auto &p : cfg_.paths) add(p, p);
    return out;
}

void Prereq::measure_fsync(const std::atomic<bool> *cancel) { set_fsync(run_probes(probe_targets(), cfg_.probe_size, cancel)); }

void Prereq::restore(std::optional<StealFacts> steal, std::vector<FsyncFacts> fsync) {
    if (steal) m_.steal = std::move(steal);
    if (!fsync.empty()) m_.fsync = std::move(fsync);
}

} // namespace fjord::prereq
