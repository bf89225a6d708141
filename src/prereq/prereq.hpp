#pragma once
// The host checks of one agent configuration: which paths are judged, the measuring (instant
// checks, the steal window, the fdatasync probe) and the judging of it all. `fjordctl check`
// drives it directly; fjordd goes through Monitor (monitor.hpp).
#include "config/config.hpp"
#include "prereq/evaluate.hpp"
#include "prereq/parse.hpp"
#include "prereq/sysfs.hpp"
#include "prereq/types.hpp"
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fjord::prereq {

/// One directory the fdatasync probe writes into, standing for every judged path on its
/// filesystem. A target with an error is reported, not probed.
struct ProbeTarget {
    std::string dir;
    std::vector<std::string> paths;
    std::string error;
};

/// Probes each target in turn (blocking; seconds per target). Safe to call from another
/// thread: it touches nothing but its arguments. `cancel` may be null.
[[nodiscard]] std::vector<FsyncFacts> run_probes(const std::vector<ProbeTarget> &targets, std::uint64_t size,
                                                 const std::atomic<bool> *cancel = nullptr);

/// The nearest existing folder at or above `path` ("/" at worst).
[[nodiscard]] std::string nearest_existing(const std::string &path);

/// Measures and judges the prerequisites of one configuration.
class Prereq {
  public:
    explicit Prereq(const Config &cfg, HostRoots roots = {});
    /// Takes new thresholds and paths; what was measured stays and is judged anew.
    void reconfigure(const Config &cfg);
    [[nodiscard]] const PrereqConfig &config() const { return cfg_; }

    /// Virtualization, disks, memory and free disk: CPUID and reads of /sys and /proc, no waiting.
    void run_instant();
    /// The first /proc/stat sample of a steal window.
    void steal_begin();
    /// The second sample: steal over the time since steal_begin().
    void steal_end();
    /// steal_begin(), a wait of prerequisites.steal_window, steal_end().
    void measure_steal();
    /// The directories the probe writes into: state.dir's filesystem first, then each
    /// prerequisites.paths entry on another filesystem.
    [[nodiscard]] std::vector<ProbeTarget> probe_targets() const;
    /// Stores a probe's results (from run_probes on probe_targets()).
    void set_fsync(std::vector<FsyncFacts> facts) { m_.fsync = std::move(facts); }
    /// run_probes on probe_targets() with prerequisites.probe_size, then set_fsync.
    void measure_fsync(const std::atomic<bool> *cancel = nullptr);
    /// Puts back slow measurements saved earlier (steal, fdatasync), so a short-lived process
    /// can judge with them instead of measuring again.
    void restore(std::optional<StealFacts> steal, std::vector<FsyncFacts> fsync);

    [[nodiscard]] const Measurements &measurements() const { return m_; }
    [[nodiscard]] std::vector<CheckResult> results() const { return evaluate(m_, cfg_); }

  private:
    [[nodiscard]] std::vector<JudgedPath> judged_paths() const;

    PrereqConfig cfg_;
    std::string apply_root_, state_dir_;
    HostRoots roots_;
    Measurements m_;
    std::optional<CpuTimes> steal_start_;
    std::chrono::steady_clock::time_point steal_started_;
};

} // namespace fjord::prereq
