#pragma once
// The wave gate (issue 20): may this host apply commit C now? Pure: it reads the marker refs
// listed under the earlier waves' prefixes (ref -> object id, never an object), the host's own
// memory of the gate and the time, and answers apply, wait or halt with the reason an operator
// reads. Reports can only hold a rollout back: every wait ends only on what this host saw
// itself (the time it first saw the previous wave meet `require`, on its own clock), and a
// halt, once seen, stays for that commit whatever the status repo says later.
#include "fleet/fleet_toml.hpp"
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fjord::fleet {

/// What the gate decided.
enum class Verdict { apply, wait, halt };

struct Decision {
    Verdict verdict = Verdict::apply;
    std::string reason; ///< "waiting: ...", "halted: ..." (empty for apply)
};

/// A halt the host saw: sticky for its commit.
struct Halt {
    std::string commit, reason;
};

/// The host's memory of the gate (STATE/fleet.json keeps it).
struct GateMemory {
    std::string commit;                 ///< the commit `satisfied_since` is about
    std::int64_t satisfied_since = 0;   ///< unix seconds this host first saw the previous wave meet require; 0: not yet
    std::vector<Halt> halts;            ///< newest last, at most max_halts
    static constexpr std::size_t max_halts = 32;
    [[nodiscard]] const Halt *halt_of(std::string_view c) const;
};

/// What the gate is asked.
struct GateInput {
    std::string commit;                      ///< C, 40 hex
    const FleetPolicy *policy = nullptr;     ///< C's fleet.toml
    std::size_t wave = 0;                    ///< this host's wave (wave_of)
    std::map<std::string, std::string> refs; ///< ref name -> object id, listed under the earlier waves' prefixes
    std::int64_t now = 0;                    ///< unix seconds, this host's clock
};

/// The prefixes a gate check lists: one per wave before `wave`.
[[nodiscard]] std::vector<std::string> gate_prefixes(const FleetPolicy &policy, std::size_t wave);

/// Decides and updates `memory` (first-satisfied time, a new halt).
[[nodiscard]] Decision evaluate_gate(const GateInput &in, GateMemory &memory);

/// "abc1234" for a 40-hex id.
[[nodiscard]] std::string short_commit(std::string_view c);

} // namespace fjord::fleet
