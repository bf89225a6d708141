#include "plan/units.hpp"

#include <fnmatch.h>

namespace fjord {
namespace {

bool starts_with(const std::string &s, const std::string &p) { return s.compare(0, p.size(), p) == 0; }

// A unit changed when its own file or drop-ins did, or a file it watches ("/etc/nginx/**":
// fnmatch without FNM_PATHNAME, so '*' also crosses '/').
bool touched(const UnitSpec &u, const std::set<std::string> &changed) {
    const std::string file = "/etc/systemd/system/" + u.name, dropins = file + ".d/";
    for (const auto &p : changed) {
        if (p == file || starts_with(p, dropins)) return true;
        for (const auto &w : u.watch)
            if (::fnmatch(w.c_str(), p.c_str(), 0) == 0) return true;
    }
    return false;
}

} // namespace

UnitPlan plan_units(const Generation &prev, const Generation &next, const std::set<std::string> &changed, bool converge) {
    UnitPlan up;
    for (const auto &[name, u] : prev.units) {
        if (next.units.count(name)) continue;
        up.before.push_back({UnitStep::stop, name});
        if (u.enable) up.before.push_back({UnitStep::disable, name});
    }
    for (const auto &p : changed)
        if (starts_with(p, "/etc/systemd/system/")) up.reload_daemon = true;
    if (!up.before.empty()) up.reload_daemon = true;

    std::vector<UnitStep> enables, runs;
    for (const auto &[name, u] : next.units) {
        auto old = prev.units.find(name);
        bool fresh = old == prev.units.end();
        bool respec = !fresh && !same_unit(old->second, u);
        bool files = touched(u, changed);
        if (!fresh && !respec && !files) {
            if (converge) {
                if (u.enable) enables.push_back({UnitStep::enable, name});
                runs.push_back({u.state == "stopped" ? UnitStep::stop : UnitStep::start, name});
            }
            continue;
        }
        if (fresh || old->second.enable != u.enable || (converge && u.enable))
            enables.push_back({u.enable ? UnitStep::enable : UnitStep::disable, name});
        if (u.state == "stopped") {
            if (fresh || converge || old->second.state != u.state) runs.push_back({UnitStep::stop, name});
            continue;
        }
        if (fresh || old->second.state != u.state) runs.push_back({UnitStep::start, name});
        else if (files && u.on_change == "restart") runs.push_back({UnitStep::restart, name});
        else if (files && u.on_change == "reload") runs.push_back({UnitStep::reload, name});
        else runs.push_back({UnitStep::start, name}); // on_change = none: only make sure it runs
    }
    up.after = std::move(enables);
    up.after.insert(up.after.end(), runs.begin(), runs.end());
    return up;
}

std::string describe(const UnitStep &s) {
    static const char *names[] = {"stop", "disable", "enable", "start", "restart", "reload"};
    return std::string(names[s.kind]) + " " + s.unit;
}

} // namespace fjord
