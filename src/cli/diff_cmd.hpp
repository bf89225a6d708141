#pragma once
// fjordctl diff --local DIR: a local checkout of the fleet repo previewed against this live
// host, before it is pushed. Read only: nothing is written to apply.root or the state dir.
#include "config/config.hpp"
#include <string>

namespace fjord {

/// The exit status of a preview of a commit (or checkout) an apply would refuse; its changes are
/// shown first.
inline constexpr int refused_preview = 3;

/// Renders DIR's host folder (source.path inside DIR) with this host's facts, plans it against
/// the current generation and the live host, and prints the changes with content (--stat: a line
/// each), then why an apply would refuse them. Exit: 3 refused; with --exit-code 0 no changes,
/// 1 changes, 2 an error; without it 0, or 1 on an error.
[[nodiscard]] int run_diff_local(const Config &cfg, const std::string &dir, bool stat, bool exit_code);

} // namespace fjord
