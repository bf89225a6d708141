#include "manifest/units.hpp"

#include "util/hash.hpp"
#include "util/parse.hpp"
#include <cctype>

namespace fjord {
namespace {

bool valid_key(std::string_view k) {
    if (k.empty()) return false;
    for (char c : k)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

Status add_file(DesiredState &ds, const std::string &path, const std::string &id, const std::string &origin) {
    FileSpec s;
    s.path = path;
    s.id = id;
    s.mode = 0644;
    s.origin = origin;
    auto [it, fresh] = ds.files.emplace(path, s);
    if (!fresh) return fail(Errc::invalid, origin + ": gives " + path + ", which " + it->second.origin + " gives too");
    return {};
}

Status checked(const TreeView &tree, const DesiredState &ds, const std::string &id, const std::string &origin,
               std::uint64_t max) {
    // A rendered template's content is in ds.blobs, not in the repo.
    if (auto it = ds.blobs.find(id); it != ds.blobs.end()) return check_unit_syntax(it->second, origin);
    auto text = tree.read_blob(id, max);
    if (!text) return fail(text.error().context(origin));
    return check_unit_syntax(*text, origin);
}

} // namespace

Status check_unit_syntax(std::string_view text, const std::string &origin) {
    std::size_t lineno = 0;
    bool section = false, continued = false;
    for (std::size_t start = 0; start <= text.size();) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view raw = text.substr(start, end - start);
        start = end + 1;
        ++lineno;
        auto bad = [&](const std::string &why) {
            return fail(Errc::invalid, origin + ":" + std::to_string(lineno) + ": " + why);
        };
        std::string_view line = trim(raw);
        bool continues = !line.empty() && line.back() == '\\';
        if (continued) { // the rest of a value split with a trailing backslash
            continued = continues;
            continue;
        }
        continued = continues;
        if (line.empty() || line.front() == '#' || line.front() == ';') {
            continued = false;
            continue;
        }
        if (line.front() == '[') {
            if (line.back() != ']' || line.size() < 3) return bad("malformed section header");
            std::string_view name = line.substr(1, line.size() - 2);
            for (char c : name)
                if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
                    return bad("malformed section name [" + std::string(name) + "]");
            section = true;
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos) return bad("expected Key=Value, a [Section] or a comment");
        if (!section) return bad("assignment outside of any section");
        if (!valid_key(trim(line.substr(0, eq)))) return bad("bad key \"" + std::string(trim(line.substr(0, eq))) + "\"");
        if (end == text.size()) break;
    }
    if (continued) return fail(Errc::invalid, origin + ": ends inside a continued line");
    return {};
}

Result<std::string> limits_dropin(const UnitSpec &u) {
    if (u.memory.empty() && u.cpu.empty()) return std::string{};
    std::string out = "# Made by fjord from limits = { ... } in the manifest of " + u.name + "\n[Service]\n";
    if (!u.memory.empty()) {
        auto bytes = parse_size(u.memory);
        if (!bytes || *bytes == 0)
            return fail(Errc::invalid, "unit \"" + u.name + "\": limits.memory \"" + u.memory + "\": use e.g. 256Mi or 1Gi");
        out += "MemoryMax=" + std::to_string(*bytes) + "\n";
    }
    if (!u.cpu.empty()) {
        auto pct = parse_percent(u.cpu);
        if (!pct || *pct <= 0)
            return fail(Errc::invalid, "unit \"" + u.name + "\": limits.cpu \"" + u.cpu + "\": use a percentage, e.g. 50%");
        out += "CPUQuota=" + u.cpu + "\n";
    }
    return out;
}

std::set<std::string> unit_file_paths(const std::map<std::string, UnitSpec> &units) {
    std::set<std::string> out;
    for (const auto &[name, u] : units) {
        std::string base = std::string(unit_dir) + "/" + name;
        if (!u.id.empty()) out.insert(base);
        for (const auto &[file, id] : u.dropins) out.insert(base + ".d/" + file);
        if (!u.memory.empty() || !u.cpu.empty()) out.insert(base + ".d/" + limits_dropin_name);
    }
    return out;
}

Status add_unit_files(const TreeView &tree, DesiredState &ds, std::uint64_t max_file_size) {
    for (const auto &[name, u] : ds.units) {
        const std::string base = std::string(unit_dir) + "/" + name;
        if (!u.id.empty()) {
            FJORD_TRY(checked(tree, ds, u.id, u.origin, max_file_size));
            FJORD_TRY(add_file(ds, base, u.id, u.origin));
        }
        for (const auto &[file, id] : u.dropins) {
            std::string unit_origin = u.origin;
            if (unit_origin.size() > 5 && unit_origin.compare(unit_origin.size() - 5, 5, ".tmpl") == 0) unit_origin.resize(unit_origin.size() - 5);
            std::string origin = u.origin.empty() ? "units/" + name + ".d/" + file : unit_origin + ".d/" + file;
            if (file == limits_dropin_name)
                return fail(Errc::invalid, origin + ": this drop-in name is fjord's own, for limits; rename it");
            FJORD_TRY(checked(tree, ds, id, origin, max_file_size));
            FJORD_TRY(add_file(ds, base + ".d/" + file, id, origin));
        }
        auto limits = limits_dropin(u);
        if (!limits) return fail(limits.error());
        if (!limits->empty()) {
            std::string id = blob_id(*limits);
            ds.blobs.emplace(id, *limits);
            FJORD_TRY(add_file(ds, base + ".d/" + limits_dropin_name, id, "limits of unit " + name));
        }
    }
    return {};
}

} // namespace fjord
