#include "fleet/gate.hpp"

#include "fleet/marker.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace fjord::fleet {
namespace {

enum class Seen { good, failed, waiting, other };

std::string_view seen_name(Seen s) {
    switch (s) {
    case Seen::good: return "good";
    case Seen::failed: return "failed";
    case Seen::waiting: return "waiting";
    case Seen::other: return "on another commit";
    }
    return "?";
}

/// "web3, web4, web5 and 2 more" of at most three names.
std::string some(const std::vector<std::string> &names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > 3) out += " and " + std::to_string(names.size() - 3) + " more";
    return out;
}

} // namespace

const Halt *GateMemory::halt_of(std::string_view c) const {
    for (const auto &h : halts)
        if (h.commit == c) return &h;
    return nullptr;
}

Result<GateMemory> parse_gate_memory(std::string_view text) {
    if (text.size() > max_fleet_json_bytes) return fail(Errc::invalid, "larger than " + std::to_string(max_fleet_json_bytes / 1024) + " KiB");
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid, "not a JSON object");
    GateMemory m;
    auto g = j.find("gate");
    if (g == j.end()) return m;
    auto bad = [](const char *why) { return fail(Errc::invalid, std::string("gate: ") + why); };
    if (!g->is_object()) return bad("not an object");
    if (auto c = g->find("commit"); c != g->end()) {
        if (!c->is_string()) return bad("commit is not a string");
        m.commit = c->get<std::string>();
    }
    if (auto t = g->find("satisfied_since"); t != g->end()) {
        if (!t->is_number_integer()) return bad("satisfied_since is not a number");
        m.satisfied_since = t->get<std::int64_t>();
    }
    if (auto h = g->find("halts"); h != g->end()) {
        if (!h->is_array() || h->size() > GateMemory::max_halts) return bad("halts is not a list of at most 32");
        for (const auto &e : *h) {
            if (!e.is_object() || !e.contains("commit") || !e["commit"].is_string() || !e.contains("reason") || !e["reason"].is_string())
                return bad("a halt is not {commit, reason}");
            m.halts.push_back({e["commit"].get<std::string>(), e["reason"].get<std::string>()});
        }
    }
    return m;
}

std::string gate_memory_json(const GateMemory &m, std::string_view old) {
    auto j = nlohmann::json::parse(old, nullptr, false);
    if (j.is_discarded() || !j.is_object()) j = nlohmann::json::object();
    auto halts = nlohmann::json::array();
    for (const auto &h : m.halts) halts.push_back({{"commit", h.commit}, {"reason", h.reason}});
    j["gate"] = {{"commit", m.commit}, {"satisfied_since", m.satisfied_since}, {"halts", halts}};
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string short_commit(std::string_view c) { return std::string(c.substr(0, 7)); }

std::vector<std::string> gate_prefixes(const FleetPolicy &policy, std::size_t wave) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < wave && i < policy.waves.size(); ++i) out.push_back(wave_prefix(policy.waves[i].name));
    return out;
}

Decision evaluate_gate(const GateInput &in, GateMemory &memory) {
    if (const Halt *h = memory.halt_of(in.commit)) return {Verdict::halt, h->reason};
    if (memory.commit != in.commit) {
        memory.commit = in.commit;
        memory.satisfied_since = 0;
    }
    const auto &waves = in.policy->waves;
    if (in.wave == 0 || in.wave >= waves.size()) return {};
    const Wave &ours = waves[in.wave];

    // What each earlier wave's hosts say of C. A marker counts only under the wave C's own
    // fleet.toml puts its host in: a ref elsewhere (another wave, garbage) is ignored.
    const std::string good = marker_id(in.commit, MarkState::good), failed = marker_id(in.commit, MarkState::failed),
                      waiting = marker_id(in.commit, MarkState::waiting);
    std::vector<std::map<std::string, Seen>> seen(in.wave);
    for (const auto &[ref, id] : in.refs) {
        auto m = parse_marker_ref(ref);
        if (!m) continue;
        std::size_t i = 0;
        while (i < in.wave && waves[i].name != m->wave) ++i;
        if (i == in.wave || wave_of(*in.policy, m->host) != i) continue;
        seen[i][m->host] = id == good ? Seen::good : id == failed ? Seen::failed : id == waiting ? Seen::waiting : Seen::other;
    }

    // A failure in any earlier wave beyond max_failures halts C here, for good.
    std::uint64_t failures = 0;
    std::string where;
    for (std::size_t i = 0; i < in.wave; ++i) {
        std::vector<std::string> hosts;
        for (const auto &[h, s] : seen[i])
            if (s == Seen::failed) hosts.push_back(h);
        if (hosts.empty()) continue;
        failures += hosts.size();
        where += (where.empty() ? "wave " : " and wave ") + waves[i].name + " (" + some(hosts) + ")";
    }
    if (failures > ours.max_failures) {
        Halt h{in.commit, "halted: commit " + short_commit(in.commit) + " failed in " + where};
        memory.halts.push_back(h);
        if (memory.halts.size() > GateMemory::max_halts) memory.halts.erase(memory.halts.begin());
        return {Verdict::halt, h.reason};
    }

    // The previous wave that has hosts reporting (an empty wave is passed over; hosts that
    // never reported do not block) must have met `require`. But some earlier wave must have
    // hosts reporting: with none at all (a fleet.toml just added, a wave renamed or its members
    // changed, a status repo wiped) nothing has been seen to work, and the commit waits.
    std::size_t prev = in.wave - 1;
    while (prev > 0 && seen[prev].empty()) --prev;
    const auto &hosts = seen[prev];
    if (hosts.empty()) {
        memory.satisfied_since = 0;
        return {Verdict::wait, "waiting: no host of wave " + waves[in.wave - 1].name + (in.wave > 1 ? " or an earlier wave" : "") +
                                   " has reported (markers under " + wave_prefix(waves[in.wave - 1].name) + "); wave " + ours.name +
                                   " goes once one is good with commit " + short_commit(in.commit)};
    }
    // Failures tolerated by max_failures (more would have halted above) are not waited for.
    std::size_t n = 0, ok = 0;
    std::vector<std::string> behind;
    for (const auto &[h, s] : hosts) {
        if (s == Seen::failed) continue;
        ++n;
        if (s == Seen::good) ++ok;
        else behind.push_back(h + ": " + std::string(seen_name(s)));
    }
    auto needed = std::size_t(std::ceil(ours.require * double(n) / 100.0 - 1e-9));
    // `after` is how long the previous wave has been good without a break: a wave that falls
    // short again (a host more reports, one goes back) starts it afresh. Otherwise a wave met
    // once at a fleet's start, when nobody had reported yet, would let this one go at once
    // later, when its previous wave had only just become good (fleet_rollout.sh found it).
    if (ok < needed) memory.satisfied_since = 0;
    if (ok < needed)
        return {Verdict::wait, "waiting: wave " + ours.name + " needs " + waves[prev].name + " " + std::to_string(needed) + "/" +
                                   std::to_string(n) + " good, has " + std::to_string(ok) + " (" + some(behind) + ")"};
    if (memory.satisfied_since == 0) memory.satisfied_since = in.now;
    auto since = std::chrono::seconds(in.now - memory.satisfied_since);
    auto after = std::chrono::duration_cast<std::chrono::seconds>(ours.after);
    if (since < after)
        return {Verdict::wait, "waiting: wave " + ours.name + " is due in " +
                                   format_duration(std::chrono::duration_cast<Duration>(after - since)) + " (" + waves[prev].name +
                                   " " + std::to_string(ok) + "/" + std::to_string(n) + " good; after = " + format_duration(ours.after) + ")"};
    return {};
}

} // namespace fjord::fleet
