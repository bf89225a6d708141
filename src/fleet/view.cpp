#include "fleet/view.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace fjord::fleet {
namespace {

constexpr const char *hosts_prefix = "refs/fjord/hosts/";

bool is_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string short_id(const std::string &c) { return c.substr(0, 7); }

} // namespace

std::string age_text(std::int64_t s) {
    if (s < 0) s = 0;
    if (s < 120) return std::to_string(s) + "s";
    if (s < 7200) return std::to_string(s / 60) + "m";
    if (s < 172800) return std::to_string(s / 3600) + "h";
    return std::to_string(s / 86400) + "d";
}

Result<FleetView> build_view(const StatusRead &in, std::int64_t now, std::int64_t heartbeat_s, std::size_t recent,
                             const std::string &only_commit, const std::vector<std::string> &wave_order) {
    FleetView v;
    std::map<std::string, HostReport> reports;
    for (const auto &h : in.hosts) {
        std::string_view name = h.ref;
        if (!name.starts_with(hosts_prefix) || !check_ref_name(name.substr(std::string_view(hosts_prefix).size()), "host")) {
            v.problems.push_back(h.ref + ": not a host's report ref; ignored");
            continue;
        }
        std::string host(name.substr(std::string_view(hosts_prefix).size()));
        if (!h.error.empty()) {
            v.problems.push_back(h.ref + ": " + h.error);
            continue;
        }
        auto r = parse_report(h.text, h.ref);
        if (!r) {
            v.problems.push_back(r.error().message);
            continue;
        }
        if (r->host != host) {
            v.problems.push_back(h.ref + ": the report says it is host \"" + r->host.substr(0, 64) + "\"; ignored (a host writes only its own ref)");
            continue;
        }
        reports[host] = std::move(*r);
    }
    // Markers: wave and host from the ref name; what they say is known once the commits are.
    struct Marker {
        std::string wave, id;
    };
    std::map<std::string, Marker> markers;
    for (const auto &[ref, id] : in.markers) {
        auto m = parse_marker_ref(ref);
        if (!m || !is_hex(id) || id.size() != 40) {
            v.problems.push_back(ref + ": not a marker ref; ignored");
            continue;
        }
        if (markers.count(m->host)) {
            v.problems.push_back(ref + ": host " + m->host + " has markers in two waves (" + markers[m->host].wave + ", " + m->wave + "); the first kept");
            continue;
        }
        markers[m->host] = {m->wave, id};
    }

    // Commits some report names, with the newest time any names it.
    std::map<std::string, std::int64_t> seen;
    for (const auto &[host, r] : reports) {
        if (!r.commit.empty()) seen[r.commit] = std::max(seen[r.commit], r.time);
        for (const auto &j : r.judged) seen[j.commit] = std::max(seen[j.commit], j.time ? j.time : r.time);
    }
    std::vector<std::string> commits;
    if (!only_commit.empty()) {
        if (only_commit.size() < 7 || only_commit.size() > 40 || !is_hex(only_commit))
            return fail(Errc::invalid, "--commit \"" + only_commit.substr(0, 64) + "\": 7 to 40 lowercase hex digits");
        for (const auto &[c, t] : seen)
            if (c.starts_with(only_commit)) commits.push_back(c);
        if (commits.size() > 1) return fail(Errc::invalid, "--commit " + only_commit + ": more than one commit starts so; give more digits");
        if (commits.empty()) {
            if (only_commit.size() != 40) return fail(Errc::not_found, "--commit " + only_commit + ": no report names such a commit");
            commits.push_back(only_commit); // no host reports it yet: every host is "not yet reporting"
        }
    } else {
        std::vector<std::pair<std::int64_t, std::string>> order;
        for (const auto &[c, t] : seen) order.emplace_back(t, c);
        std::sort(order.rbegin(), order.rend());
        for (std::size_t i = 0; i < order.size() && i < recent; ++i) commits.push_back(order[i].second);
    }

    std::set<std::string> all_hosts;
    for (const auto &[h, r] : reports) all_hosts.insert(h);
    for (const auto &[h, m] : markers) all_hosts.insert(h);
    for (const auto &h : all_hosts) {
        HostRow row;
        row.host = h;
        if (auto r = reports.find(h); r != reports.end()) {
            row.commit = r->second.commit;
            row.generation = r->second.generation;
            row.wave = r->second.wave;
            row.state = r->second.state;
            row.reason = r->second.reason;
            row.time = r->second.time;
            row.stale = heartbeat_s > 0 && now - r->second.time > 3 * heartbeat_s;
        } else {
            row.state = "no report";
        }
        if (auto m = markers.find(h); m != markers.end() && row.wave.empty()) row.wave = m->second.wave;
        v.hosts.push_back(std::move(row));
    }

    for (const auto &c : commits) {
        CommitRow cr;
        cr.commit = c;
        cr.last_seen = seen.count(c) ? seen[c] : 0;
        const std::string good = marker_id(c, MarkState::good), failed = marker_id(c, MarkState::failed),
                          waiting = marker_id(c, MarkState::waiting);
        std::map<std::string, WaveCount> waves;
        std::map<std::string, std::vector<std::string>> failed_in; // wave -> failed hosts
        for (const auto &h : all_hosts) {
            auto m = markers.find(h);
            std::string state;
            std::string wave = m != markers.end() ? m->second.wave : "";
            if (m != markers.end()) {
                if (m->second.id == good) state = "good";
                else if (m->second.id == failed) state = "failed";
                else if (m->second.id == waiting) state = "waiting";
            }
            if (state.empty())
                if (auto r = reports.find(h); r != reports.end()) {
                    if (wave.empty()) wave = r->second.wave;
                    for (const auto &j : r->second.judged)
                        if (j.commit == c) {
                            state = j.outcome == "good" ? "good" : "failed";
                            break;
                        }
                }
            if (wave.empty()) wave = "all";
            WaveCount &w = waves[wave];
            w.name = wave;
            ++w.hosts;
            if (state == "good") ++w.good, ++cr.good;
            else if (state == "failed") ++w.failed, ++cr.failed, failed_in[wave].push_back(h);
            else if (state == "waiting") ++w.waiting, ++cr.waiting;
            else ++w.other, ++cr.not_reporting;
        }
        // Waves in rollout order: fleet.toml's when given, then the rest by name.
        for (const auto &name : wave_order)
            if (auto it = waves.find(name); it != waves.end()) {
                cr.waves.push_back(it->second);
                waves.erase(it);
            }
        for (auto &[name, w] : waves) cr.waves.push_back(w);
        // The rollout's state: halted at the first wave with a failure, complete when every
        // host is good, otherwise the first wave not yet all good is rolling out.
        cr.rollout = "complete";
        for (const auto &w : cr.waves) {
            if (w.failed) {
                const auto &f = failed_in[w.name];
                cr.rollout = "halted in wave " + w.name + " (" + f.front() + (f.size() > 1 ? " and " + std::to_string(f.size() - 1) + " more" : "") + " failed)";
                break;
            }
            if (w.good < w.hosts) {
                cr.rollout = "in progress: wave " + w.name;
                break;
            }
        }
        v.commits.push_back(std::move(cr));
    }
    return v;
}

std::string view_text(const FleetView &v, std::int64_t now) {
    std::size_t hw = 4, ww = 4;
    for (const auto &h : v.hosts) hw = std::max(hw, h.host.size()), ww = std::max(ww, h.wave.size());
    auto pad = [](std::string s, std::size_t w) {
        if (s.size() < w) s.append(w - s.size(), ' ');
        return s;
    };
    std::string out = pad("HOST", hw) + "  COMMIT   GEN  " + pad("WAVE", ww) + "  STATE    AGE\n";
    for (const auto &h : v.hosts) {
        out += pad(h.host, hw) + "  " + pad(h.commit.empty() ? "-" : short_id(h.commit), 7) + "  " + pad(std::to_string(h.generation), 3) + "  " +
               pad(h.wave.empty() ? "-" : h.wave, ww) + "  " + pad(h.state, 7) + "  " + (h.time ? age_text(now - h.time) : "-") +
               (h.stale ? "  STALE" : "") + (h.reason.empty() ? "" : "  " + h.reason.substr(0, 100)) + "\n";
    }
    if (v.hosts.empty()) out += "(no host has reported)\n";
    for (const auto &c : v.commits) {
        out += "\ncommit " + short_id(c.commit) + ": " + std::to_string(c.good) + " good, " + std::to_string(c.failed) + " failed, " +
               std::to_string(c.waiting) + " waiting, " + std::to_string(c.not_reporting) + " not yet reporting; " + c.rollout + "\n";
        for (const auto &w : c.waves)
            out += "  wave " + pad(w.name, ww) + "  " + std::to_string(w.good) + "/" + std::to_string(w.hosts) + " good" +
                   (w.failed ? ", " + std::to_string(w.failed) + " failed" : "") + (w.waiting ? ", " + std::to_string(w.waiting) + " waiting" : "") +
                   (w.other ? ", " + std::to_string(w.other) + " not yet" : "") + "\n";
    }
    for (const auto &p : v.problems) out += "warning: " + p + "\n";
    return out;
}

std::string view_json(const FleetView &v, std::int64_t now) {
    nlohmann::json hosts = nlohmann::json::array(), commits = nlohmann::json::array();
    for (const auto &h : v.hosts)
        hosts.push_back({{"host", h.host}, {"commit", h.commit}, {"generation", h.generation}, {"wave", h.wave}, {"state", h.state},
                         {"reason", h.reason}, {"time", h.time}, {"age", h.time ? now - h.time : 0}, {"stale", h.stale}});
    for (const auto &c : v.commits) {
        nlohmann::json waves = nlohmann::json::array();
        for (const auto &w : c.waves)
            waves.push_back({{"name", w.name}, {"hosts", w.hosts}, {"good", w.good}, {"failed", w.failed}, {"waiting", w.waiting}, {"not_reporting", w.other}});
        commits.push_back({{"commit", c.commit}, {"good", c.good}, {"failed", c.failed}, {"waiting", c.waiting},
                           {"not_reporting", c.not_reporting}, {"rollout", c.rollout}, {"waves", waves}});
    }
    return nlohmann::json{{"hosts", hosts}, {"commits", commits}, {"problems", v.problems}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace fjord::fleet
