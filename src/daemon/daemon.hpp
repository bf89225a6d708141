#pragma once
// fjordd: the event loop (poll timer with jitter, drift timer, signals, control socket,
// sd_notify READY/STATUS/WATCHDOG) around an Engine (daemon/engine.hpp).
#include "config/config.hpp"
#include <cstdint>
#include <optional>

namespace fjord {

/// How fjordd was started.
struct DaemonOptions {
    std::string config_file = default_config_file;
    bool once = false;    ///< one full reconcile, then exit
    bool dry_run = false; ///< plan and report, change nothing
    bool recover_only = false; ///< finish or roll back an interrupted transaction, then exit
    /// Roll back to this generation (0 = the good one before the current), print the result and
    /// exit: what the control socket's rollback does, for `fjordctl rollback` without a daemon.
    std::optional<std::uint64_t> rollback;
};

/// Runs fjordd; returns the process exit status (0 ok, 1 failed, 2 usage or config error, 3 a
/// dry run of a commit an apply would refuse).
[[nodiscard]] int run_daemon(const DaemonOptions &opts);

/// A JSON reply to one control request, produced by the daemon (exposed for tests).
[[nodiscard]] std::string daemon_usage();

} // namespace fjord
