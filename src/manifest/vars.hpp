#pragma once
// Template values: [vars] of the manifests, host facts and `fjordctl render --var` overrides.
// Pure values, comparable, so DesiredState stays a value type.
#include <cstddef>
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

/// At most this many values (every leaf, table, list and list element counts) in the [vars]
/// of all folders of a render and the facts together. Real hosts have tens to a few thousand;
/// 100,000 is ten times a host with 10,000 and keeps the vars (held as VarValues, again as
/// the templates' values, and once more in the render child's answer) to tens of MB. A 45 MB
/// [vars] of 2.5 million keys took the render child to 1.3 GB before.
inline constexpr std::size_t max_vars = 100'000;

/// The values in `t`, as max_vars counts them.
[[nodiscard]] std::size_t count_vars(const VarTable &t);

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
