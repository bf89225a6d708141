#pragma once
// Template values: [vars] of the manifests, host facts and `fjordctl render --var` overrides.
// Pure values, comparable, so DesiredState stays a value type.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// One value a template can name: a scalar (string, number, boolean), a list or a table.
struct VarValue {
    enum class Kind { string, number, boolean, list, table };
    Kind kind = Kind::string;
    std::string text;                       ///< scalars as they render: "x", "4", "1.5", "true"
    std::vector<VarValue> items;            ///< list elements
    std::map<std::string, VarValue> fields; ///< table entries (libstdc++'s map allows the incomplete type)

    static VarValue string(std::string s) { return {Kind::string, std::move(s), {}, {}}; }
    static VarValue number(std::string s) { return {Kind::number, std::move(s), {}, {}}; }
    static VarValue boolean(bool b) { return {Kind::boolean, b ? "true" : "false", {}, {}}; }
    static VarValue list(std::vector<VarValue> v) { return {Kind::list, {}, std::move(v), {}}; }
    static VarValue strings(const std::vector<std::string> &v);
    static VarValue table(std::map<std::string, VarValue> t) { return {Kind::table, {}, {}, std::move(t)}; }

    friend bool operator==(const VarValue &, const VarValue &) = default;
};

/// Names to values: [vars] of one folder, all folders merged, or facts ("host" -> table).
using VarTable = std::map<std::string, VarValue>;

/// Merges `later` into `acc`: tables merge key by key (recursively), anything else replaces.
void merge_vars(VarTable &acc, const VarTable &later);

/// Sets the dotted `name` ("host.name", "db.port") to `v`, making (or replacing with) tables
/// on the way.
void set_var(VarTable &t, std::string_view name, VarValue v);

/// The value at dotted `name`, or nullptr.
[[nodiscard]] const VarValue *find_var(const VarTable &t, std::string_view name);

/// "a string", "a list", ... for messages.
[[nodiscard]] const char *kind_name(VarValue::Kind k);

} // namespace fjord
