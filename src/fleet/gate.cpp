#include "fleet/gate.hpp"

#include "fleet/marker.hpp"

#include <cmath>

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
    // never reported do not block) must have met `require`.
    std::size_t prev = in.wave - 1;
    while (prev > 0 && seen[prev].empty()) --prev;
    const auto &hosts = seen[prev];
    std::size_t n = hosts.size(), ok = 0;
    std::vector<std::string> behind;
    for (const auto &[h, s] : hosts) {
        if (s == Seen::good) ++ok;
        else behind.push_back(h + ": " + std::string(seen_name(s)));
    }
    auto needed = std::size_t(std::ceil(ours.require * double(n) / 100.0 - 1e-9));
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
