#pragma once
// What fjordctl does itself when fjordd is not running: repair, suspend and resume through the
// store's own API (apply/store.hpp, apply/state_check.hpp), under the state lock; and rollback
// through `fjordd --rollback`, since rolling back takes the whole engine, which is fjordd's.
#include "config/config.hpp"
#include <cstdint>
#include <string>

namespace fjord {

/// `fjordctl repair [--yes]` without the daemon: what is damaged and what repair would do, or
/// (yes) does it.
[[nodiscard]] int repair_offline(const Config &cfg, bool yes);
/// `fjordctl suspend` (suspend = true) or `resume` without the daemon: the store's flags.
[[nodiscard]] int suspend_offline(const Config &cfg, bool suspend);
/// `fjordctl rollback [GEN]` without the daemon: runs `fjordd --config FILE --rollback GEN`
/// and prints its result; fjordd's exit status (0 applied, 1 not, 2 a config error).
[[nodiscard]] int rollback_offline(const Config &cfg, std::uint64_t gen);

/// The fjordd program fjordctl runs: beside fjordctl itself, in the sbin folder beside its bin
/// folder (/usr/bin and /usr/sbin, as the package installs them), else the first on PATH; ""
/// when there is none.
[[nodiscard]] std::string find_fjordd();

} // namespace fjord
