#pragma once
// The real probes (HTTP with libcurl, TCP connect, a command without a shell, a systemd unit's
// state) and the assembly of a generation's checks from its [[check]] tables.
#include "host/podman.hpp"
#include "host/systemd.hpp"
#include "health/check.hpp"
#include "manifest/desired_state.hpp"
#include "plan/plan.hpp"
#include "util/result.hpp"
#include <functional>
#include <vector>

namespace fjord {

/// GET `url`: passes on `expect_status` and, when `expect_body` is set, a body containing it.
[[nodiscard]] std::unique_ptr<Probe> http_probe(std::string url, long expect_status, std::string expect_body);
/// A TCP connect to "host:port" ("[::1]:80" for IPv6).
[[nodiscard]] std::unique_ptr<Probe> tcp_probe(std::string host_port);
/// How `exec` checks run: the FJORD_* variables hooks get, and whether their output may be
/// shown (not when the generation has any secret file: a check may print what it read).
struct ExecCheckContext {
    std::vector<std::string> env;
    bool hide_output = false;
};

/// Runs argv (no shell; PATH is searched), killed with its process group at the timeout;
/// passes on exit status 0. Its output (the first 2 KiB) goes into the failure's detail,
/// unless ctx.hide_output.
[[nodiscard]] std::unique_ptr<Probe> exec_probe(std::vector<std::string> argv, ExecCheckContext ctx = {});
/// A unit is active (and its last run did not fail), or exited successfully (a oneshot).
[[nodiscard]] std::unique_ptr<Probe> unit_probe(SystemdManager &sd, std::string unit);

/// A container runs and, when its spec has a healthcheck, that healthcheck passes (run once
/// through the podman API per attempt).
[[nodiscard]] std::unique_ptr<Probe> container_probe(Podman &podman, std::string name, bool healthcheck);

/// A probe made of a function (the Git remote answering, for the dead-man's switch).
[[nodiscard]] std::unique_ptr<Probe> function_probe(std::string target, std::function<ProbeResult(std::chrono::milliseconds)> f);

/// The units that `plan` starts or restarts: each is checked implicitly.
[[nodiscard]] std::vector<std::string> units_started(const Plan &plan);

/// The checks of a generation: its [[check]] tables, then a unit check for each unit in
/// `implicit_units` (those the generation starts or restarts) that no [[check]] names already.
/// `sd` may be null when units are not activated; a `unit` check then is an error. A
/// `container` check needs `podman` and must name one of `containers` (the generation's).
/// Errors are Errc::invalid.
/// Makes the probe of an http, tcp or exec [[check]] (tests script them); unset, or nullptr
/// returned, means the real probe.
using ProbeFactory = std::function<std::unique_ptr<Probe>(const CheckSpec &)>;

[[nodiscard]] Result<std::vector<Check>> build_checks(const std::vector<CheckSpec> &specs, SystemdManager *sd,
                                                      const std::vector<std::string> &implicit_units, Podman *podman = nullptr,
                                                      const std::map<std::string, AppliedContainer> *containers = nullptr,
                                                      const ExecCheckContext &exec = {}, const ProbeFactory &probes = {});

} // namespace fjord
