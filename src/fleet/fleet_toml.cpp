#include "fleet/fleet_toml.hpp"

#include "fleet/marker.hpp"
#include "util/toml.hpp"

#include <algorithm>
#include <fnmatch.h>
#include <set>

namespace fjord::fleet {
namespace {

/// Every problem of one fleet.toml; the earliest in the file is the error returned.
class Problems {
  public:
    explicit Problems(const std::string &origin) : origin_(origin) {}
    void add(const toml::source_region &where, const std::string &key, const std::string &why) {
        list_.push_back({where.begin, origin_ + ":" + std::to_string(where.begin.line) + ":" +
                                          std::to_string(where.begin.column) + ": " + key + ": " + why});
    }
    [[nodiscard]] Status status(Diagnostics *all) const {
        if (all)
            for (const auto &p : list_) all->add(origin_, Error{Errc::invalid, p.text});
        if (list_.empty()) return {};
        auto first = std::min_element(list_.begin(), list_.end(), [](const auto &a, const auto &b) { return a.at < b.at; });
        return fail(Errc::invalid, first->text);
    }

  private:
    struct Problem {
        toml::source_position at;
        std::string text;
    };
    std::string origin_;
    std::vector<Problem> list_;
};

void parse_wave(const toml::table &t, const std::string &key, bool first, Wave &w, Problems &p) {
    for (const auto &[k, v] : t) {
        std::string name(k.str()), at = key + "." + name;
        if (name == "name") {
            auto s = v.value<std::string>();
            if (!s) { p.add(v.source(), at, "must be a string"); continue; }
            if (auto ok = check_ref_name(*s, at); !ok) p.add(v.source(), at, ok.error().message.substr(at.size() + 1));
            w.name = *s;
        } else if (name == "hosts") {
            const auto *a = v.as_array();
            if (!a) { p.add(v.source(), at, "must be an array of host globs"); continue; }
            if (a->empty()) p.add(v.source(), at, "must not be empty (leave the key out for a wave of every host left)");
            if (a->size() > max_globs) { p.add(v.source(), at, "more than " + std::to_string(max_globs) + " globs"); continue; }
            for (const auto &e : *a) {
                auto s = e.value<std::string>();
                if (!s || s->empty() || s->size() > 255) { p.add(e.source(), at, "each glob must be a string of 1 to 255 characters"); continue; }
                w.hosts.push_back(*s);
            }
        } else if (name == "percent") {
            auto d = v.value<double>();
            if (!d || !v.is_number()) { p.add(v.source(), at, "must be a number (percent of the fleet, e.g. 20)"); continue; }
            if (!(*d > 0 && *d <= 100)) { p.add(v.source(), at, "must be more than 0 and at most 100"); continue; }
            w.percent = *d;
        } else if (name == "after" || name == "require" || name == "max_failures") {
            if (first) { p.add(v.source(), at, "the first wave has no gate (it applies at once): leave " + name + " out"); continue; }
            if (name == "after") {
                auto s = v.value<std::string>();
                auto d = s ? parse_duration(*s) : Result<Duration>(fail(Errc::invalid, "must be a duration string (e.g. \"10m\")"));
                if (!d) { p.add(v.source(), at, d.error().message); continue; }
                w.after = *d;
            } else if (name == "require") {
                auto s = v.value<std::string>();
                auto r = s ? parse_percent(*s) : Result<double>(fail(Errc::invalid, "must be a percentage string (e.g. \"80%\")"));
                if (!r) { p.add(v.source(), at, r.error().message); continue; }
                if (!(*r > 0 && *r <= 100)) { p.add(v.source(), at, "must be more than 0% and at most 100%"); continue; }
                w.require = *r;
            } else {
                auto n = v.value<std::int64_t>();
                if (!n || !v.is_integer() || *n < 0 || *n > 1'000'000) { p.add(v.source(), at, "must be a whole number from 0 to 1000000"); continue; }
                w.max_failures = std::uint64_t(*n);
            }
        } else {
            p.add(k.source(), at, "unknown key (name, hosts, percent, after, require, max_failures)");
        }
    }
    if (w.name.empty() && !t.contains("name")) p.add(t.source(), key, "name is missing");
    if (!w.hosts.empty() && w.percent) p.add(t.source(), key, "hosts and percent exclude each other (a wave is chosen by one)");
}

} // namespace

Result<FleetPolicy> parse_fleet_toml(std::string_view text, const std::string &origin, Diagnostics *all) {
    auto keep = [&](Error e) -> Result<FleetPolicy> {
        if (all) all->add(origin, e);
        return tl::make_unexpected(std::move(e));
    };
    if (text.size() > max_fleet_toml_bytes)
        return keep({Errc::invalid, origin + ": larger than " + std::to_string(max_fleet_toml_bytes / 1024) + " KiB"});
    auto doc = parse_toml(text, origin);
    if (!doc) return keep(doc.error());
    FleetPolicy policy;
    Problems p(origin);
    for (const auto &[k, v] : *doc) {
        std::string key(k.str());
        if (key == "mode") {
            auto s = v.value<std::string>();
            if (s && *s == "waves") policy.mode = FleetMode::waves;
            else if (s && *s == "all") policy.mode = FleetMode::all;
            else p.add(v.source(), key, "must be \"waves\" or \"all\"");
        } else if (key == "wave") {
            const auto *a = v.as_array();
            if (!a || !a->is_array_of_tables()) { p.add(v.source(), key, "must be [[wave]] tables"); continue; }
            if (a->size() > max_waves) { p.add(v.source(), key, "more than " + std::to_string(max_waves) + " waves"); continue; }
            std::set<std::string> names;
            bool rest_seen = false;
            for (std::size_t i = 0; i < a->size(); ++i) {
                const auto &t = *(*a)[i].as_table();
                Wave w;
                std::string at = "wave[" + std::to_string(i) + "]";
                parse_wave(t, at, i == 0, w, p);
                if (!w.name.empty() && !names.insert(w.name).second) p.add(t.source(), at + ".name", "\"" + w.name + "\" names an earlier wave too");
                if (rest_seen) p.add(t.source(), at, "comes after a wave that takes every host left, so it would never have a host");
                rest_seen = rest_seen || w.takes_rest();
                policy.waves.push_back(std::move(w));
            }
        } else {
            p.add(k.source(), key, "unknown key (mode, wave)");
        }
    }
    if (auto s = p.status(all); !s) return tl::make_unexpected(s.error());
    if (policy.waves.empty() || !policy.waves.back().takes_rest()) {
        Wave rest;
        rest.name = "rest";
        rest.implicit = true;
        if (!policy.waves.empty()) {
            const Wave &last = policy.waves.back();
            if (std::any_of(policy.waves.begin(), policy.waves.end(), [](const Wave &w) { return w.name == "rest"; }))
                return keep({Errc::invalid, origin + ": wave \"rest\" has hosts or percent, but \"rest\" names the implicit last "
                                                     "wave of hosts in no other wave: rename it or leave hosts and percent out"});
            rest.after = last.after;
            rest.require = last.require;
            rest.max_failures = last.max_failures;
        }
        policy.waves.push_back(std::move(rest));
    }
    return policy;
}

std::size_t wave_of(const FleetPolicy &policy, std::string_view host) {
    const std::string h(host);
    for (std::size_t i = 0; i < policy.waves.size(); ++i) {
        const Wave &w = policy.waves[i];
        if (w.takes_rest()) return i;
        if (w.percent && bucket(host) < *w.percent) return i;
        for (const auto &g : w.hosts)
            if (::fnmatch(g.c_str(), h.c_str(), 0) == 0) return i;
    }
    return policy.waves.empty() ? 0 : policy.waves.size() - 1;
}

} // namespace fjord::fleet
