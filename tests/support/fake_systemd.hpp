#pragma once
// systemd for unit tests: every call recorded, units' states scripted, failures on demand.
#include "host/systemd.hpp"
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fjord::test {

class FakeSystemd final : public SystemdManager {
  public:
    std::vector<std::string> calls;            ///< "start web.service", "daemon-reload", ...
    std::map<std::string, UnitState> units;    ///< what state() answers, by unit
    UnitState fallback{"loaded", "active", "running", "success", ""}; ///< for units not in `units`
    std::set<std::string> failing;             ///< calls that fail ("restart web.service")
    Errc fail_code = Errc::invalid;

    Status reload_daemon() override { return rec("daemon-reload"); }
    Status enable(const std::vector<std::string> &u) override { return rec("enable " + join(u)); }
    Status disable(const std::vector<std::string> &u) override { return rec("disable " + join(u)); }
    Status start(const std::string &u) override { return rec("start " + u); }
    Status stop(const std::string &u) override { return rec("stop " + u); }
    Status restart(const std::string &u) override { return rec("restart " + u); }
    Status reload(const std::string &u) override { return rec("reload " + u); }
    Result<UnitState> state(const std::string &u) override {
        auto it = units.find(u);
        return it == units.end() ? fallback : it->second;
    }
    /// How many recorded calls start with `prefix`.
    std::size_t count(const std::string &prefix) const {
        std::size_t n = 0;
        for (const auto &c : calls) n += c.rfind(prefix, 0) == 0;
        return n;
    }

  private:
    static std::string join(const std::vector<std::string> &v) {
        std::string s;
        for (const auto &x : v) s += (s.empty() ? "" : " ") + x;
        return s;
    }
    Status rec(std::string c) {
        calls.push_back(c);
        if (failing.count(c)) return fail(fail_code, "unit: " + c + " failed");
        return {};
    }
};

} // namespace fjord::test
