#pragma once
// systemd units of a host folder as files: units/NAME -> /etc/systemd/system/NAME, drop-ins
// alongside, and `limits` as a drop-in fjord writes. Unit files are syntax-checked here, before
// anything is applied, so a unit systemd could not parse never reaches the host.
#include "manifest/desired_state.hpp"
#include "util/tree.hpp"
#include "util/result.hpp"
#include <map>
#include <set>
#include <string>

namespace fjord {

/// Where unit files go on the host.
inline constexpr const char *unit_dir = "/etc/systemd/system";
/// The drop-in fjord makes from `limits = { memory, cpu }`.
inline constexpr const char *limits_dropin_name = "50-fjord-limits.conf";

/// Adds a FileSpec for every unit file, drop-in and limits drop-in of ds.units to ds.files,
/// refusing a path files/ already provides and a unit file with bad syntax.
/// The host paths of the unit files and drop-ins `units` give (add_unit_files adds them), so a
/// partial render's caller drops the base's before it takes the render's.
[[nodiscard]] std::set<std::string> unit_file_paths(const std::map<std::string, UnitSpec> &units);
[[nodiscard]] Status add_unit_files(const TreeView &tree, DesiredState &ds, std::uint64_t max_file_size);
/// The limits drop-in ("" when the unit has no limits); errors name the unit and key.
[[nodiscard]] Result<std::string> limits_dropin(const UnitSpec &u);
/// Checks that a unit file is what systemd's parser accepts: sections, Key=Value lines,
/// continuations, comments; `origin` names it in errors.
[[nodiscard]] Status check_unit_syntax(std::string_view text, const std::string &origin);

} // namespace fjord
