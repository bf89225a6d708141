#pragma once
// The state directory's own consistency, checked at every start before recovery: what fjord
// can rebuild from the rest it rebuilds and says so (a lost `current` from the newest good
// generation, a generation's lost header from its files, a damaged journal as a recovery of
// every path); what it cannot (the record of what the host holds is gone) it names, with the
// one command that repairs it. It never silently starts afresh (DESIGN.md §7.8).
#include "apply/store.hpp"
#include <string>
#include <vector>

namespace fjord {

/// What check_state found and did.
struct StateCheck {
    std::vector<std::string> rebuilt; ///< what was put right, one line each, for the log
    std::string damage;               ///< "" or what cannot be rebuilt: "FILE: reason"
    std::string repair;               ///< what `fjordctl repair --yes` would do about `damage`
};

/// Checks `current`, the generation it names, the journal's generations and the flags, and
/// rebuilds what can be rebuilt. `commit_hint`: the commit status.json says the current
/// generation holds (to rebuild a lost header), or "".
[[nodiscard]] Result<StateCheck> check_state(Store &store, const std::string &commit_hint = "");

/// The manual repair of what check_state reports as damage: damaged generations are moved
/// aside (generations/N.broken), `current` is set to the newest intact good generation (or to
/// none: fjord then starts afresh, adopting what it finds as originals), and an unfinished
/// transaction is recovered towards it. Returns what it did, one line each.
[[nodiscard]] Result<std::vector<std::string>> repair_state(Store &store);

/// A journal that puts back every path generation `from` holds or generation `to` touched:
/// recovery when the journal itself was lost or damaged. `to` may be `from` (nothing pending).
[[nodiscard]] Journal full_recovery_journal(const Generation &from, const Generation *to);

} // namespace fjord
