#pragma once
// What systemd must do when the host goes from one generation to another (pure; apply/unit_steps
// does it): units Git dropped are stopped and disabled before their files go; after the files
// land, one daemon-reload, then enable/disable, then start, restart or reload what changed.
#include "plan/generation.hpp"
#include <set>

namespace fjord {

/// One systemd step.
struct UnitStep {
    enum Kind { stop, disable, enable, start, restart, reload } kind;
    std::string unit;
    friend bool operator==(const UnitStep &, const UnitStep &) = default;
};

/// The systemd side of a transaction.
struct UnitPlan {
    std::vector<UnitStep> before; ///< before files change: pruned units stopped and disabled
    bool reload_daemon = false;   ///< after files change
    std::vector<UnitStep> after;  ///< after the daemon-reload
    [[nodiscard]] bool empty() const { return before.empty() && after.empty() && !reload_daemon; }
};

/// Plans the systemd steps from `prev` to `next`; `changed` holds every host path the file
/// transaction writes or removes (unit files, drop-ins and watched files among them). Pure.
/// `converge` (rollbacks, manual or automatic): every unit of `next` is also brought to what
/// it asks for (enabled, running or stopped) even where nothing of it changed, since the
/// generation rolled back from may have stopped it or left it failed.
[[nodiscard]] UnitPlan plan_units(const Generation &prev, const Generation &next, const std::set<std::string> &changed,
                                  bool converge = false);

/// "restart nginx.service", for messages.
[[nodiscard]] std::string describe(const UnitStep &s);

} // namespace fjord
