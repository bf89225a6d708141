#include "prereq/monitor.hpp"

#include "util/unique_fd.hpp"
#include <atomic>
#include <ctime>
#include <sys/eventfd.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>

namespace fjord::prereq {

// The probe's thread owns nothing but this; the main thread reads `result` only after join().
struct Monitor::Worker {
    std::atomic<bool> cancel{false};
    unique_fd done;
    std::vector<FsyncFacts> result;
    std::thread thread;
};

namespace {

std::vector<std::string> paths_key(const Config &cfg) {
    std::vector<std::string> k{cfg.apply.root, cfg.state.dir};
    k.insert(k.end(), cfg.prerequisites.paths.begin(), cfg.prerequisites.paths.end());
    return k;
}

} // namespace

Monitor::Monitor(const Config &cfg, HostRoots roots)
    : p_(cfg, std::move(roots)), mode_(cfg.prerequisites.mode), state_dir_(cfg.state.dir), paths_key_(paths_key(cfg)) {
    // What was reported before (by an earlier fjordd or --once) is not reported again.
    if (auto s = read_saved(state_dir_)) {
        for (const auto &r : s->results) reported_[r.label()] = r.status;
        saved_ = std::move(*s);
    }
}

Monitor::~Monitor() {
    if (worker_) {
        worker_->cancel = true;
        if (worker_->thread.joinable()) worker_->thread.join();
    }
}

bool Monitor::reconfigure(const Config &cfg) {
    bool was_off = mode_ == PrereqMode::off;
    auto key = paths_key(cfg);
    bool paths_changed = key != paths_key_;
    p_.reconfigure(cfg);
    mode_ = cfg.prerequisites.mode;
    paths_key_ = std::move(key);
    if (paths_changed) {
        probe_done_ = cheap_done_ = false; // results for other paths no longer say anything
        probe_stale_ = worker_ != nullptr;
    }
    return mode_ != PrereqMode::off && (was_off || paths_changed);
}

void Monitor::begin_round() {
    p_.run_instant();
    p_.steal_begin();
}

void Monitor::end_round() {
    p_.steal_end();
    cheap_done_ = true;
}

Result<int> Monitor::start_probe() {
    if (worker_) return fail(Errc::busy, "an fdatasync probe is already running");
    auto w = std::make_unique<Worker>();
    w->done.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!w->done) return fail_errno("eventfd");
    Worker *raw = w.get();
    auto targets = p_.probe_targets();
    std::uint64_t size = p_.config().probe_size;
    try {
        w->thread = std::thread([raw, targets = std::move(targets), size] {
            raw->result = run_probes(targets, size, &raw->cancel);
            std::uint64_t one = 1;
            (void)!::write(raw->done.get(), &one, sizeof one);
        });
    } catch (const std::system_error &e) {
        return fail(Errc::io, std::string("start the fdatasync probe thread: ") + e.what());
    }
    int fd = w->done.get();
    worker_ = std::move(w);
    return fd;
}

bool Monitor::finish_probe() {
    if (!worker_) return true;
    worker_->thread.join();
    auto result = std::move(worker_->result);
    worker_.reset();
    if (std::exchange(probe_stale_, false)) return false;
    p_.set_fsync(std::move(result));
    probe_done_ = true;
    return true;
}

bool Monitor::run_once(bool measure_slow) {
    p_.run_instant();
    cheap_done_ = probe_done_ = true;
    std::int64_t now = std::time(nullptr);
    const auto &c = p_.config();
    std::optional<StealFacts> steal;
    std::vector<FsyncFacts> fsync;
    if (saved_) {
        auto fresh = [now](std::int64_t at, Duration interval) { return at > 0 && at <= now && (now - at) * 1000 < interval.count(); };
        if (saved_->steal && saved_->steal->error.empty() && fresh(saved_->steal->at, c.check_interval)) steal = saved_->steal;
        // A saved probe counts only if it measured the directories probed now.
        auto targets = p_.probe_targets();
        bool same = saved_->fsync.size() == targets.size();
        for (std::size_t i = 0; same && i < targets.size(); ++i)
            same = saved_->fsync[i].dir == targets[i].dir && fresh(saved_->fsync[i].at, c.probe_interval);
        if (same) fsync = saved_->fsync;
    }
    bool measured = false;
    if (measure_slow && !steal) p_.measure_steal(), measured = true;
    if (measure_slow && fsync.empty()) p_.measure_fsync(), measured = true;
    p_.restore(steal, std::move(fsync));
    return measured;
}

std::vector<Change> Monitor::take_changes() {
    std::vector<Change> out;
    std::map<std::string, CheckStatus> now;
    for (const auto &r : p_.results()) {
        now[r.label()] = r.status;
        auto it = reported_.find(r.label());
        CheckStatus before = it == reported_.end() ? CheckStatus::pass : it->second;
        if (before == r.status) continue;
        Change c{r.status, r.label(), ""};
        if (r.status == CheckStatus::pass)
            c.message = "prerequisites: " + r.label() + " passes again (" + r.value + ")";
        else
            c.message = "prerequisites: " + r.label() + ": " + r.problem + " (" + r.value + "; want " + r.threshold + "); fix: " +
                        r.remedy;
        out.push_back(std::move(c));
    }
    // Checks that were not run this time (a slow one in --once) keep their last report.
    for (auto &[k, s] : now) reported_[k] = s;
    return out;
}

std::string Monitor::gate() const {
    if (mode_ != PrereqMode::block) return {};
    if (!complete())
        return "prerequisites: not checked yet (the first round takes prerequisites.steal_window and the fdatasync probe); "
               "refusing to apply (prerequisites.mode = block)";
    return block_reason(p_.results(), mode_);
}

Status Monitor::save() const {
    Saved s;
    s.checked_at = std::time(nullptr);
    s.mode = mode_name(mode_);
    s.results = p_.results();
    s.steal = p_.measurements().steal;
    s.fsync = p_.measurements().fsync;
    return write_saved(state_dir_, s);
}

} // namespace fjord::prereq
