#include "manifest/vars.hpp"

namespace fjord {

VarValue VarValue::strings(const std::vector<std::string> &v) {
    VarValue out = list({});
    for (const auto &s : v) out.items.push_back(string(s));
    return out;
}

namespace {
std::size_t count_value(const VarValue &v) {
    std::size_t n = 1;
    for (const auto &e : v.items) n += count_value(e);
    return n + count_vars(v.fields);
}
} // namespace

std::size_t count_vars(const VarTable &t) {
    std::size_t n = 0;
    for (const auto &[k, v] : t) n += count_value(v);
    return n;
}

void merge_vars(VarTable &acc, const VarTable &later) {
    for (const auto &[k, v] : later) {
        auto it = acc.find(k);
        if (it != acc.end() && it->second.kind == VarValue::Kind::table && v.kind == VarValue::Kind::table)
            merge_vars(it->second.fields, v.fields);
        else
            acc[k] = v;
    }
}

void set_var(VarTable &t, std::string_view name, VarValue v) {
    auto dot = name.find('.');
    if (dot == std::string_view::npos) {
        t[std::string(name)] = std::move(v);
        return;
    }
    VarValue &parent = t[std::string(name.substr(0, dot))];
    if (parent.kind != VarValue::Kind::table) parent = VarValue::table({});
    set_var(parent.fields, name.substr(dot + 1), std::move(v));
}

const VarValue *find_var(const VarTable &t, std::string_view name) {
    auto dot = name.find('.');
    auto it = t.find(std::string(name.substr(0, dot)));
    if (it == t.end()) return nullptr;
    if (dot == std::string_view::npos) return &it->second;
    if (it->second.kind != VarValue::Kind::table) return nullptr;
    return find_var(it->second.fields, name.substr(dot + 1));
}

const char *kind_name(VarValue::Kind k) {
    switch (k) {
    case VarValue::Kind::string: return "a string";
    case VarValue::Kind::number: return "a number";
    case VarValue::Kind::boolean: return "a boolean";
    case VarValue::Kind::list: return "a list";
    case VarValue::Kind::table: return "a table";
    }
    return "a value";
}

} // namespace fjord
