#pragma once
// fjordctl status and history: what an operator reads at a glance, from the running fjordd or,
// when it is stopped, from the state directory; and sync's progress line at a terminal.
#include "config/config.hpp"
#include "control/report.hpp"
#include "plan/generation.hpp"
#include "util/result.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// `fjordctl status [--json]`.
[[nodiscard]] int run_status(const Config &cfg, bool json);
/// `fjordctl history [--json]`.
[[nodiscard]] int run_history(const Config &cfg, bool json);
/// `fjordctl show [GEN|COMMIT] [--json]`: one history entry in full (cli/show_cmd.cpp).
[[nodiscard]] int run_show(const Config &cfg, const std::string &which, bool json);

/// `fjordctl status`' exit code, as systemctl status': 0 fjordd runs and the host is on the newest
/// good state; 1 it runs, but the last sync failed or was refused, the newest commit judged
/// failed, was refused or rolled back, or applying is paused (suspended, pinned, halted);
/// 3 fjordd is not running (the status saved on disk is shown).
[[nodiscard]] int status_exit_code(bool running, std::string_view last_result, std::string_view suspended,
                                   std::string_view attempted_outcome);

/// The [state] dir of a config file that does not parse (a typo elsewhere), read line by line:
/// where fjordd, running the last good config, has its control socket. "" when not found.
[[nodiscard]] std::string salvage_state_dir(std::string_view toml_text);

/// `note` cut to `room` characters (UTF-8 code points) with "..." at its end; room 0: whole.
[[nodiscard]] std::string fit(std::string_view note, std::size_t room);
/// The columns of the terminal stdout is, 0 when it is not one (piped): COLUMNS, else the tty's.
[[nodiscard]] std::size_t terminal_width();

/// An entry of the history: a generation, or an attempt that never became one.
struct EntryRef {
    std::uint64_t generation = 0; ///< 0: an attempt
    std::size_t attempt = 0;      ///< its index among the attempts
    std::string commit;
    std::int64_t time = 0;
};
/// The generations and attempts as one history, in the order fjord judged them (Report::after).
[[nodiscard]] std::vector<EntryRef> history_entries(const std::vector<GenerationInfo> &gens, const std::vector<Report> &attempts);
/// The entry `which` names: "" the newest; a generation number (fewer than 7 digits, or no
/// commit starts with them); a commit or its prefix of 7 or more hex digits (its newest entry).
/// Errc::invalid when `which` is neither or names several commits (the message lists them);
/// Errc::not_found when nothing matches. `entries` are oldest first.
[[nodiscard]] Result<EntryRef> pick_entry(std::string_view which, const std::vector<EntryRef> &entries);

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
