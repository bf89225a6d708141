#pragma once
// One folder's manifest fjord.toml, parsed and type-checked but not yet merged with the other
// folders of its include chain (render.cpp merges them, in order, the host last).
#include "manifest/desired_state.hpp"
#include "util/diagnostics.hpp"
#include "util/result.hpp"
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// One entry of `include`, as written, with where it was written ("f.toml:1:12").
struct IncludeRef {
    std::string path;
    std::string where;
};

/// A `[file."PATH"]` table: only the fields it sets, so later folders override field by field.
struct FilePatch {
    std::optional<unsigned> mode;
    std::string mode_text;   ///< as written, for messages
    std::string mode_where;  ///< "ORIGIN:LINE:COL" of the mode, for messages
    std::optional<std::string> owner, group;
    std::optional<std::vector<std::string>> validate;
    std::string where;       ///< "ORIGIN:LINE:COL: file."PATH"", the prefix of errors about it
};

/// A `[unit."NAME"]` table: only the fields it sets.
struct UnitPatch {
    std::optional<bool> enable;
    std::optional<std::string> state, on_change, memory, cpu;
    std::optional<std::vector<std::string>> watch, pre_restart;
};

/// A parsed fjord.toml of one folder.
struct Manifest {
    std::vector<IncludeRef> includes;
    VarTable vars;                                ///< [vars] as written
    std::map<std::string, FilePatch> files;       ///< by normalised host path
    std::map<std::string, UnitPatch> units;
    std::map<std::string, ContainerSpec> containers;
    std::vector<HookSpec> hooks;
    std::vector<CheckSpec> checks;
};

/// Parses manifest `text`; `origin` is its repo path, the prefix of every error
/// ("hosts/web1/fjord.toml:3:1: file."/etc/a": mode: bad mode "0999"").
/// Without `all`, the first error found is returned. With it, every error goes to `all` and
/// the parse goes on past it (a table in error is left out); an error is returned only when the
/// file could not be read as TOML at all. The caller then checks `all`: a Manifest parsed with
/// errors is incomplete and only good for finding more errors (fjordctl validate).
[[nodiscard]] Result<Manifest> parse_manifest(std::string_view text, const std::string &origin, Diagnostics *all = nullptr);

/// Parses containers/NAME.toml into a typed spec (see container_toml.hpp); `all` as for
/// parse_manifest.
[[nodiscard]] Result<ContainerSpec> parse_container_file(std::string_view text, const std::string &name,
                                                         const std::string &origin, Diagnostics *all = nullptr);

/// Parses `fjordctl render --var NAME=VALUE`: VALUE is taken as TOML when it parses as a TOML
/// value (8, true, ["a", "b"]), else as a string; NAME may be dotted ("db.port").
[[nodiscard]] Result<std::pair<std::string, VarValue>> parse_var_assignment(std::string_view assignment);

/// True for a systemd unit name fjord accepts ("nginx.service", "getty@tty1.service").
[[nodiscard]] bool valid_unit_name(std::string_view name);
/// True for a podman container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*).
[[nodiscard]] bool valid_container_name(std::string_view name);

} // namespace fjord
