#pragma once
// The systemd side of a transaction, behind a narrow interface: the real one speaks D-Bus to
// org.freedesktop.systemd1 with sd-bus (never systemctl); tests of the pure logic use a fake.
#include "util/result.hpp"
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace fjord {

/// What systemd says of a unit.
struct UnitState {
    std::string load;   ///< LoadState: loaded, not-found, bad-setting, ...
    std::string active; ///< ActiveState: active, inactive, failed, activating, ...
    std::string sub;    ///< SubState: running, exited, dead, ...
    std::string result; ///< Result of the service: success, exit-code, ...
    std::string fragment; ///< FragmentPath: the unit file systemd loaded it from ("" = none)
};

/// The systemd manager, as fjord uses it.
class SystemdManager {
  public:
    virtual ~SystemdManager() = default;
    /// Manager.Reload: systemd re-reads unit files (daemon-reload).
    [[nodiscard]] virtual Status reload_daemon() = 0;
    /// EnableUnitFiles / DisableUnitFiles.
    [[nodiscard]] virtual Status enable(const std::vector<std::string> &units) = 0;
    [[nodiscard]] virtual Status disable(const std::vector<std::string> &units) = 0;
    /// StartUnit, StopUnit, RestartUnit, ReloadUnit with mode "replace"; each waits for the
    /// job's JobRemoved signal and fails unless its result is "done".
    [[nodiscard]] virtual Status start(const std::string &unit) = 0;
    [[nodiscard]] virtual Status stop(const std::string &unit) = 0;
    [[nodiscard]] virtual Status restart(const std::string &unit) = 0;
    [[nodiscard]] virtual Status reload(const std::string &unit) = 0;
    /// LoadState, ActiveState, SubState and Result of a unit.
    [[nodiscard]] virtual Result<UnitState> state(const std::string &unit) = 0;
};

/// Connects to systemd: the system bus when `address` is empty, else that D-Bus address
/// ("unix:path=/proc/N/root/run/dbus/system_bus_socket"). Jobs time out after job_timeout.
[[nodiscard]] Result<std::unique_ptr<SystemdManager>> connect_systemd(const std::string &address,
                                                                     std::chrono::milliseconds job_timeout);

} // namespace fjord
