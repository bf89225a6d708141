#pragma once
// fjordctl status and history: what an operator reads at a glance, from the running fjordd or,
// when it is stopped, from the state directory; and sync's progress line at a terminal.
#include "config/config.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fjord {

/// `fjordctl status [--json]`.
[[nodiscard]] int run_status(const Config &cfg, bool json);
/// `fjordctl history [--json]`.
[[nodiscard]] int run_history(const Config &cfg, bool json);

/// What a generation changed, as history's CHANGES column and `--json` show it.
struct ChangeCounts {
    std::uint64_t added = 0, changed = 0, removed = 0, units = 0;
};
/// Reads a generation's change summary ("+2 ~1 -0, 1 unit"); nullopt for "" (a generation from
/// before it was kept) or anything else.
[[nodiscard]] std::optional<ChangeCounts> parse_change_summary(std::string_view s);

/// "3m ago", "in 42s", "just now": a time relative to now, for a person.
[[nodiscard]] std::string relative_time(std::int64_t t, std::int64_t now);

/// Shows sync's progress lines on a terminal, each over the last ("\r" + clear line); clear()
/// wipes the line before the final output.
class ProgressLine {
  public:
    void show(const std::string &line);
    void clear();

  private:
    bool shown_ = false;
};

} // namespace fjord
