#include "manifest/manifest_toml.hpp"

#include "manifest/container_toml.hpp"
#include "manifest/render.hpp"
#include "util/parse.hpp"

#include <algorithm>
#include <initializer_list>
#include <sstream>
#include "util/toml.hpp"

namespace fjord {
namespace {

/// A manifest fjord.toml or containers/NAME.toml is at most 32 MiB (apply.max_file_size caps
/// it too), checked before parsing. A 100,000-file host with a [file."PATH"] table for every
/// file (mode, owner, group and a 70-byte path: 130 bytes each) has a 13 MB manifest; 32 MiB
/// leaves 335 bytes a file. toml++ needs 10 to 20 times a file's size in memory; with the
/// pre-scan's 1,000,000 values the worst parse is about 300 MB (999,000 keys in 33 MB: 305 MB).
constexpr std::size_t max_manifest_size = 32u << 20;

/// Dotted names of `fjordctl render --var` nest no deeper than the TOML they override.
constexpr std::size_t max_name_segments = TomlScanLimits{}.max_depth;

Status check_size(std::string_view text, const std::string &origin) {
    if (text.size() <= max_manifest_size) return {};
    return fail(Errc::invalid, origin + ": " + std::to_string(text.size()) + " bytes, more than a manifest may have (" +
                                   std::to_string(max_manifest_size) + " bytes, 32 MiB), refused before parsing");
}

bool bare_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// A key as TOML would need it written: bare when it can be, quoted otherwise.
std::string quote_key(std::string_view k) {
    if (!k.empty() && std::all_of(k.begin(), k.end(), bare_key_char)) return std::string(k);
    std::string out = "\"";
    for (char c : k) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) out += "\\u00" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
        else out += c;
    }
    return out + "\"";
}

/// A [file."..."] key as the host path it names, normalised as the kernel reads a path:
/// "//etc/x", "/etc//x", "/etc/./x" and "/etc/x/" are all "/etc/x". ".." is refused: what it
/// names would depend on symlinks on the host.
Result<std::string> host_key_path(std::string_view key) {
    if (key.empty() || key.front() != '/') return fail(Errc::invalid, "must be an absolute host path (\"/etc/...\")");
    std::string out;
    for (std::size_t i = 0, j; i <= key.size(); i = j + 1) {
        j = std::min(key.find('/', i), key.size());
        std::string_view seg = key.substr(i, j - i);
        if (seg.empty() || seg == ".") continue;
        if (seg == "..") return fail(Errc::invalid, "\"..\" is not allowed in a host path");
        if (seg.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos)
            return fail(Errc::invalid, "line breaks and NUL are not allowed in a host path");
        out += '/';
        out += seg;
    }
    if (out.empty()) return fail(Errc::invalid, "names no file");
    return out;
}

std::string type_name(toml::node_type t) {
    switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
    }
    return "nothing";
}

std::string scalar_text(const toml::node &n) {
    if (const auto *s = n.as_string()) return s->get();
    std::ostringstream os;
    n.visit([&](const auto &v) { os << v; });
    return os.str();
}

/// Reads typed values out of tables, with errors that name file:line:col, the table and the key.
class Reader {
  public:
    /// With `all`, errors go there and parsing goes on (see keep); without, the first is returned.
    explicit Reader(const std::string &origin, Diagnostics *all = nullptr) : origin_(origin), all_(all) {}

    /// An error that need not stop the parse: with a sink it is recorded there and parsing
    /// goes on (success is returned); without one it is returned, to stop at the first.
    Status keep(Status s) const {
        if (s || !all_) return s;
        all_->add(origin_, std::move(s.error()));
        return {};
    }

    Diagnostics *all() const { return all_; }

    std::string at(const toml::source_region &r) const {
        return origin_ + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
    }

    tl::unexpected<Error> error(const toml::source_region &r, const std::string &table, std::string_view key,
                                const std::string &why) const {
        std::string m = at(r) + ": ";
        if (!table.empty()) m += table + ": ";
        if (!key.empty()) m += quote_key(key) + ": ";
        return fail(Errc::invalid, m + why);
    }

    tl::unexpected<Error> wrong_type(const toml::node &n, const std::string &table, std::string_view key,
                                     const std::string &expected) const {
        return error(n.source(), table, key, "expected " + expected + ", got " + type_name(n.type()));
    }

    Status only_keys(const toml::table &t, const std::string &table,
                     std::initializer_list<std::string_view> allowed) const {
        for (auto &&[k, v] : t)
            if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
                FJORD_TRY(keep(error(k.source(), table, k.str(), "unknown key")));
        return {};
    }

    Result<std::optional<std::string>> string(const toml::table &t, const std::string &table,
                                              std::string_view key) const {
        const toml::node *n = t.get(key);
        if (!n) return std::nullopt;
        if (const auto *s = n->as_string()) return s->get();
        return wrong_type(*n, table, key, "a string");
    }

    /// A string out of a fixed set ("started" | "stopped").
    Result<std::optional<std::string>> one_of(const toml::table &t, const std::string &table, std::string_view key,
                                              std::initializer_list<std::string_view> choices) const {
        auto s = string(t, table, key);
        if (!s || !*s) return s;
        if (std::find(choices.begin(), choices.end(), **s) != choices.end()) return s;
        std::string list;
        for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
        return error(t.get(key)->source(), table, key, "\"" + **s + "\" is not one of " + list);
    }

    Result<std::optional<bool>> boolean(const toml::table &t, const std::string &table, std::string_view key) const {
        const toml::node *n = t.get(key);
        if (!n) return std::nullopt;
        if (const auto *b = n->as_boolean()) return b->get();
        return wrong_type(*n, table, key, "a boolean");
    }

    Result<std::optional<std::int64_t>> integer(const toml::table &t, const std::string &table, std::string_view key,
                                                std::int64_t min, std::int64_t max) const {
        const toml::node *n = t.get(key);
        if (!n) return std::nullopt;
        const auto *i = n->as_integer();
        if (!i) return wrong_type(*n, table, key, "an integer");
        if (i->get() < min || i->get() > max)
            return error(n->source(), table, key,
                         std::to_string(i->get()) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
        return i->get();
    }

    Result<std::optional<std::vector<std::string>>> strings(const toml::table &t, const std::string &table,
                                                            std::string_view key, bool non_empty) const {
        const toml::node *n = t.get(key);
        if (!n) return std::nullopt;
        const auto *a = n->as_array();
        if (!a) return wrong_type(*n, table, key, "an array of strings");
        std::vector<std::string> out;
        for (const toml::node &e : *a) {
            const auto *s = e.as_string();
            if (!s) return wrong_type(e, table, key, "an array of strings, an element");
            out.push_back(s->get());
        }
        if (non_empty && out.empty()) return error(n->source(), table, key, "must not be empty");
        return out;
    }

    /// A duration string in milliseconds; `positive` refuses "0s".
    Result<std::optional<std::int64_t>> duration_ms(const toml::table &t, const std::string &table,
                                                    std::string_view key, bool positive) const {
        auto s = string(t, table, key);
        if (!s) return fail(s.error());
        if (!*s) return std::nullopt;
        auto d = parse_duration(**s);
        if (!d) return error(t.get(key)->source(), table, key, d.error().message);
        if (positive && d->count() <= 0) return error(t.get(key)->source(), table, key, "must be more than 0s");
        return std::int64_t(d->count());
    }

    Result<const toml::table *> table(const toml::node &n, const std::string &table, std::string_view key) const {
        if (const auto *t = n.as_table()) return t;
        return wrong_type(n, table, key, "a table");
    }

    const std::string &origin() const { return origin_; }

  private:
    const std::string &origin_;
    Diagnostics *all_;
};

/// Copies a Result<optional<T>> into an optional field when the key was present; an error
/// goes through the Reader `rd` in scope (Reader::keep: recorded, or returned).
#define FJORD_SET(field, expr)                                                                     \
    do {                                                                                           \
        auto fjord_set_r_ = (expr);                                                                \
        if (!fjord_set_r_) FJORD_TRY(rd.keep(::fjord::fail(std::move(fjord_set_r_.error()))));    \
        else if (*fjord_set_r_) field = std::move(**fjord_set_r_);                                 \
    } while (0)

/// Converts a TOML value, counting each value made against `left` (max_vars): false when it
/// ran out, and `out` is then partial.
bool to_var(const toml::node &n, VarValue &out, std::size_t &left) {
    if (left == 0) return false;
    --left;
    if (const auto *t = n.as_table()) {
        out = VarValue::table({});
        for (auto &&[k, e] : *t)
            if (!to_var(e, out.fields[std::string(k.str())], left)) return false;
        return true;
    }
    if (const auto *a = n.as_array()) {
        out = VarValue::list({});
        for (const toml::node &e : *a)
            if (!to_var(e, out.items.emplace_back(), left)) return false;
        return true;
    }
    if (const auto *b = n.as_boolean()) out = VarValue::boolean(b->get());
    else if (n.is_integer() || n.is_floating_point()) out = VarValue::number(scalar_text(n));
    else out = VarValue::string(scalar_text(n)); // strings; dates and times as TOML writes them
    return true;
}

Status parse_vars(const Reader &rd, const toml::node &n, Manifest &m) {
    auto t = rd.table(n, "", "vars");
    if (!t) return fail(t.error());
    std::size_t left = max_vars;
    for (auto &&[k, v] : **t) {
        // host.* and fjord.* are host facts; a var shadowing one would make templates lie.
        if (k.str() == "host" || k.str() == "fjord" || k.str().rfind("host.", 0) == 0 || k.str().rfind("fjord.", 0) == 0) {
            FJORD_TRY(rd.keep(rd.error(k.source(), "vars", k.str(), "the names host.* and fjord.* are reserved for host facts")));
            continue;
        }
        // A dot in a quoted key would be read as a path into a table by templates.
        if (k.str().find('.') != std::string_view::npos) {
            FJORD_TRY(rd.keep(rd.error(k.source(), "vars", k.str(), "a name with a dot cannot be reached from a template; use a table")));
            continue;
        }
        if (!to_var(v, m.vars[std::string(k.str())], left))
            return rd.error(k.source(), "vars", k.str(),
                            "more than " + std::to_string(max_vars) +
                                " values in [vars] (each leaf, table and list element counts), the limit for templates");
    }
    return {};
}

Status parse_files(const Reader &rd, const toml::node &n, Manifest &m) {
    auto all = rd.table(n, "", "file");
    if (!all) return fail(all.error());
    for (auto &&[k, v] : **all) {
        // One table: its first error that leaves nothing to check further ends it, not the parse.
        FJORD_TRY(rd.keep([&, &k = k, &v = v]() -> Status {
            std::string name = "file." + quote_key(k.str());
            auto path = host_key_path(k.str());
            if (!path) return rd.error(k.source(), name, "", path.error().message);
            auto t = rd.table(v, "file", k.str());
            if (!t) return fail(t.error());
            FJORD_TRY(rd.only_keys(**t, name, {"mode", "owner", "group", "validate"}));
            FilePatch p;
            p.where = rd.at(v.source()) + ": " + name;
            if (const toml::node *mode = (*t)->get("mode")) {
                const auto *s = mode->as_string();
                auto parsed = s ? parse_mode(s->get()) : Result<unsigned>(0u);
                if (!s) FJORD_TRY(rd.keep(rd.wrong_type(*mode, name, "mode", "an octal string like \"0644\"")));
                else if (!parsed) FJORD_TRY(rd.keep(rd.error(mode->source(), name, "mode", parsed.error().message)));
                else {
                    p.mode = *parsed;
                    p.mode_text = s->get();
                    p.mode_where = rd.at(mode->source());
                }
            }
            for (const char *key : {"owner", "group"}) {
                auto s = rd.string(**t, name, key);
                if (!s) FJORD_TRY(rd.keep(fail(s.error())));
                if (!s || !*s) continue;
                // Names or numeric ids; ':' would split a chown spec and blanks are always typos.
                bool ok = !(*s)->empty() && std::none_of((*s)->begin(), (*s)->end(), [](char c) {
                    return static_cast<unsigned char>(c) <= ' ' || c == ':' || c == '/' || c == 0x7f;
                });
                if (!ok) FJORD_TRY(rd.keep(rd.error((*t)->get(key)->source(), name, key, "bad user or group name \"" + **s + "\"")));
                else (key[0] == 'o' ? p.owner : p.group) = **s;
            }
            FJORD_SET(p.validate, rd.strings(**t, name, "validate", false));
            // [] turns a pattern's (or a bundle's) validate off; otherwise the command must be
            // given the staged file, or it would check nothing of it.
            if (p.validate && !p.validate->empty()) {
                bool has = std::any_of(p.validate->begin(), p.validate->end(), [](const std::string &a) { return a.find("%s") != std::string::npos; });
                if (!has || p.validate->front().empty())
                    return rd.error((*t)->get("validate")->source(), name, "validate",
                                    p.validate->front().empty() ? "the program is empty" : "no argument has %s (where the staged file's path goes)");
            }
            auto [it, added] = m.files.emplace(*path, std::move(p));
            if (!added) // spelt another way, perhaps: name the other table
                return rd.error(k.source(), name, "", "the same path " + *path + " as another [file] table (" + it->second.where + ")");
            return {};
        }()));
    }
    return {};
}

Status parse_units(const Reader &rd, const toml::node &n, Manifest &m) {
    auto all = rd.table(n, "", "unit");
    if (!all) return fail(all.error());
    for (auto &&[k, v] : **all) {
        FJORD_TRY(rd.keep([&, &k = k, &v = v]() -> Status {
            std::string name = "unit." + quote_key(k.str());
            if (!valid_unit_name(k.str()))
                return rd.error(k.source(), name, "", "not a systemd unit name (e.g. \"nginx.service\")");
            auto t = rd.table(v, "unit", k.str());
            if (!t) return fail(t.error());
            FJORD_TRY(rd.only_keys(**t, name, {"pre_restart", "limits", "enable", "state", "on_change", "watch"}));
            UnitPatch u;
            FJORD_SET(u.pre_restart, rd.strings(**t, name, "pre_restart", false));
            FJORD_SET(u.enable, rd.boolean(**t, name, "enable"));
            FJORD_SET(u.state, rd.one_of(**t, name, "state", {"started", "stopped"}));
            FJORD_SET(u.on_change, rd.one_of(**t, name, "on_change", {"restart", "reload", "none"}));
            FJORD_SET(u.watch, rd.strings(**t, name, "watch", false));
            if (u.watch)
                for (const auto &w : *u.watch)
                    if (w.empty() || w.front() != '/')
                        FJORD_TRY(rd.keep(rd.error((*t)->get("watch")->source(), name, "watch", "\"" + w + "\" is not an absolute host path")));
            if (const toml::node *ln = (*t)->get("limits")) {
                std::string lname = name + ".limits";
                auto lt = rd.table(*ln, name, "limits");
                if (!lt) return fail(lt.error());
                FJORD_TRY(rd.only_keys(**lt, lname, {"memory", "cpu"}));
                FJORD_SET(u.memory, rd.string(**lt, lname, "memory"));
                FJORD_SET(u.cpu, rd.string(**lt, lname, "cpu"));
                if (u.memory)
                    if (auto s = parse_size(*u.memory); !s || *s == 0)
                        FJORD_TRY(rd.keep(rd.error((*lt)->get("memory")->source(), lname, "memory", s ? "must be more than 0" : s.error().message)));
                if (u.cpu)
                    if (auto c = parse_percent(*u.cpu); !c || *c <= 0)
                        return rd.error((*lt)->get("cpu")->source(), lname, "cpu", c ? "must be more than 0%" : c.error().message);
            }
            m.units.emplace(std::string(k.str()), std::move(u));
            return {};
        }()));
    }
    return {};
}

Status parse_containers(const Reader &rd, const toml::node &n, Manifest &m) {
    auto all = rd.table(n, "", "container");
    if (!all) return fail(all.error());
    for (auto &&[k, v] : **all) {
        FJORD_TRY(rd.keep([&, &k = k, &v = v]() -> Status {
            std::string name = "container." + quote_key(k.str());
            if (!valid_container_name(k.str()))
                return rd.error(k.source(), name, "", "not a container name (letters, digits, '_', '.', '-')");
            auto t = rd.table(v, "container", k.str());
            if (!t) return fail(t.error());
            auto spec = parse_container_table(**t, std::string(k.str()), rd.origin(), name, rd.all());
            if (!spec) return fail(spec.error());
            spec->origin = rd.at(v.source());
            m.containers.emplace(std::string(k.str()), std::move(*spec));
            return {};
        }()));
    }
    return {};
}

Result<const toml::array *> array_of_tables(const Reader &rd, const toml::node &n, std::string_view key) {
    const auto *a = n.as_array();
    if (!a || !a->is_array_of_tables())
        return rd.wrong_type(n, "", key, "an array of tables ([[" + std::string(key) + "]])");
    return a;
}

Status parse_hooks(const Reader &rd, const toml::node &n, Manifest &m) {
    auto all = array_of_tables(rd, n, "hook");
    if (!all) return fail(all.error());
    for (std::size_t i = 0; i < (*all)->size(); ++i) {
        const toml::table &t = *(*all)->get(i)->as_table();
        std::string name = "hook[" + std::to_string(i + 1) + "]";
        FJORD_TRY(rd.keep([&]() -> Status {
            FJORD_TRY(rd.only_keys(t, name, {"when", "exec", "timeout"}));
            HookSpec h;
            FJORD_SET(h.when, rd.one_of(t, name, "when", {"pre-apply", "post-apply", "post-rollback"}));
            FJORD_SET(h.exec, rd.strings(t, name, "exec", true));
            FJORD_SET(h.timeout_ms, rd.duration_ms(t, name, "timeout", true));
            // A hook holds up the whole sync (and fjordd's watchdog is fed only so long).
            if (h.timeout_ms > max_hook_timeout_ms)
                FJORD_TRY(rd.keep(rd.error(t.get("timeout")->source(), name, "timeout", "over the limit of 1h (a hook holds up the whole sync)")));
            // Absent, not refused above (a refused value was reported where it is).
            if (!t.get("when")) FJORD_TRY(rd.keep(rd.error(t.source(), name, "when", "missing (pre-apply, post-apply or post-rollback)")));
            if (!t.get("exec")) FJORD_TRY(rd.keep(rd.error(t.source(), name, "exec", "missing (the command, as an array)")));
            m.hooks.push_back(std::move(h));
            return {};
        }()));
    }
    return {};
}

Status parse_check_target(const Reader &rd, const toml::table &t, const std::string &name, CheckSpec &c) {
    FJORD_SET(c.http, rd.string(t, name, "http"));
    FJORD_SET(c.tcp, rd.string(t, name, "tcp"));
    FJORD_SET(c.exec, rd.strings(t, name, "exec", true));
    FJORD_SET(c.unit, rd.string(t, name, "unit"));
    FJORD_SET(c.container, rd.string(t, name, "container"));
    int kinds = !c.http.empty() + !c.tcp.empty() + !c.exec.empty() + !c.unit.empty() + !c.container.empty();
    if (kinds != 1)
        return rd.error(t.source(), name, "", "needs exactly one of http, tcp, exec, unit, container");
    if (!c.http.empty() && c.http.rfind("http://", 0) != 0 && c.http.rfind("https://", 0) != 0)
        return rd.error(t.get("http")->source(), name, "http", "\"" + c.http + "\" is not an http:// or https:// URL");
    if (!c.tcp.empty()) {
        auto colon = c.tcp.rfind(':');
        bool ok = colon != std::string::npos && colon > 0 && colon + 1 < c.tcp.size() &&
                  std::all_of(c.tcp.begin() + long(colon) + 1, c.tcp.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (!ok) return rd.error(t.get("tcp")->source(), name, "tcp", "\"" + c.tcp + "\" is not HOST:PORT");
    }
    if (!c.unit.empty() && !valid_unit_name(c.unit))
        return rd.error(t.get("unit")->source(), name, "unit", "\"" + c.unit + "\" is not a systemd unit name");
    if (!c.container.empty() && !valid_container_name(c.container))
        return rd.error(t.get("container")->source(), name, "container", "\"" + c.container + "\" is not a container name");
    return {};
}

Status parse_checks(const Reader &rd, const toml::node &n, Manifest &m) {
    auto all = array_of_tables(rd, n, "check");
    if (!all) return fail(all.error());
    for (std::size_t i = 0; i < (*all)->size(); ++i) {
        const toml::table &t = *(*all)->get(i)->as_table();
        std::string name = "check[" + std::to_string(i + 1) + "]";
        FJORD_TRY(rd.keep([&]() -> Status {
            FJORD_TRY(rd.only_keys(t, name, {"name", "http", "tcp", "exec", "unit", "container", "expect_status",
                                             "expect_body", "initial_delay", "period", "timeout", "failure_threshold"}));
            CheckSpec c;
            FJORD_SET(c.name, rd.string(t, name, "name"));
            if (c.name.empty() && (!t.get("name") || t.get("name")->is_string()))
                FJORD_TRY(rd.keep(rd.error(t.source(), name, "name", "missing (checks are named in status and logs)")));
            FJORD_TRY(rd.keep(parse_check_target(rd, t, name, c)));
            FJORD_SET(c.expect_status, rd.integer(t, name, "expect_status", 100, 599));
            FJORD_SET(c.expect_body, rd.string(t, name, "expect_body"));
            for (const char *key : {"expect_status", "expect_body"})
                if (t.get(key) && c.http.empty() && !t.get("http"))
                    FJORD_TRY(rd.keep(rd.error(t.get(key)->source(), name, key, "applies to http checks only")));
            FJORD_SET(c.initial_delay_ms, rd.duration_ms(t, name, "initial_delay", false));
            FJORD_SET(c.period_ms, rd.duration_ms(t, name, "period", true));
            FJORD_SET(c.timeout_ms, rd.duration_ms(t, name, "timeout", true));
            FJORD_SET(c.failure_threshold, rd.integer(t, name, "failure_threshold", 1, 1000));
            for (const auto &other : m.checks)
                if (other.name == c.name && !c.name.empty())
                    return rd.error(t.get("name")->source(), name, "name", "\"" + c.name + "\" is used by another check");
            m.checks.push_back(std::move(c));
            return {};
        }()));
    }
    return {};
}

Status parse_includes(const Reader &rd, const toml::node &n, Manifest &m) {
    const auto *a = n.as_array();
    if (!a) return rd.wrong_type(n, "", "include", "an array of folder paths");
    for (const toml::node &e : *a) {
        const auto *s = e.as_string();
        if (!s) return rd.wrong_type(e, "", "include", "an array of folder paths, an element");
        if (s->get().empty()) return rd.error(e.source(), "", "include", "an empty path");
        m.includes.push_back({s->get(), rd.at(e.source())});
    }
    return {};
}

} // namespace

Result<std::pair<std::string, VarValue>> parse_var_assignment(std::string_view assignment) {
    auto eq = assignment.find('=');
    if (eq == std::string_view::npos || eq == 0)
        return fail(Errc::invalid, "\"" + std::string(assignment) + "\": expected NAME=VALUE");
    std::string name(assignment.substr(0, eq));
    std::string_view value = assignment.substr(eq + 1);
    std::size_t segments = 0;
    for (std::size_t i = 0, j; i <= name.size(); i = j + 1) {
        j = std::min(name.find('.', i), name.size());
        if (j == i || !std::all_of(name.begin() + i, name.begin() + j, bare_key_char))
            return fail(Errc::invalid, "\"" + name + "\": a name is letters, digits, _ and -, dotted into tables");
        if (++segments > max_name_segments)
            return fail(Errc::invalid, "\"" + name.substr(0, 64) + "...\": more than " +
                                           std::to_string(max_name_segments) + " dotted parts");
    }
    // A TOML value when it is one (8, true, ["a", "b"], { port = 1 }), else the text as a string.
    auto parsed = parse_toml("v = " + std::string(value), "--var");
    if (parsed && parsed->size() == 1)
        if (const toml::node *n = parsed->get("v")) {
            VarValue v;
            std::size_t left = max_vars;
            if (!to_var(*n, v, left))
                return fail(Errc::invalid, "\"" + name + "\": more than " + std::to_string(max_vars) + " values");
            return std::pair{name, std::move(v)};
        }
    return std::pair{name, VarValue::string(std::string(value))};
}

Result<Manifest> parse_manifest(std::string_view text, const std::string &origin, Diagnostics *all) {
    Reader rd(origin, all);
    // A file too big or not TOML at all: one error, nothing more can be read from it.
    auto whole = [&](Error e) {
        if (all) all->add(origin, e);
        return fail(std::move(e));
    };
    if (auto size = check_size(text, origin); !size) return whole(size.error());
    auto parsed = parse_toml(text, origin);
    if (!parsed) return whole(parsed.error());
    const toml::table &root = *parsed;
    FJORD_TRY(rd.only_keys(root, "", {"include", "vars", "file", "unit", "container", "hook", "check"}));
    Manifest m;
    if (const auto *n = root.get("include")) FJORD_TRY(rd.keep(parse_includes(rd, *n, m)));
    if (const auto *n = root.get("vars")) FJORD_TRY(rd.keep(parse_vars(rd, *n, m)));
    if (const auto *n = root.get("file")) FJORD_TRY(rd.keep(parse_files(rd, *n, m)));
    if (const auto *n = root.get("unit")) FJORD_TRY(rd.keep(parse_units(rd, *n, m)));
    if (const auto *n = root.get("container")) FJORD_TRY(rd.keep(parse_containers(rd, *n, m)));
    if (const auto *n = root.get("hook")) FJORD_TRY(rd.keep(parse_hooks(rd, *n, m)));
    if (const auto *n = root.get("check")) FJORD_TRY(rd.keep(parse_checks(rd, *n, m)));
    return m;
}

Result<ContainerSpec> parse_container_file(std::string_view text, const std::string &name, const std::string &origin,
                                           Diagnostics *all) {
    auto whole = [&](Error e) {
        if (all) all->add(origin, e);
        return fail(std::move(e));
    };
    if (auto size = check_size(text, origin); !size) return whole(size.error());
    auto parsed = parse_toml(text, origin);
    if (!parsed) return whole(parsed.error());
    auto spec = parse_container_table(*parsed, name, origin, "", all);
    if (!spec) return whole(spec.error());
    spec->origin = origin;
    return spec;
}

bool valid_unit_name(std::string_view name) {
    static constexpr std::string_view types[] = {"service", "socket", "device", "mount", "automount", "swap",
                                                 "target", "path", "timer", "slice", "scope"};
    if (name.empty() || name.size() > 255) return false;
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    if (std::find(std::begin(types), std::end(types), name.substr(dot + 1)) == std::end(types)) return false;
    std::string_view stem = name.substr(0, dot);
    if (std::count(stem.begin(), stem.end(), '@') > 1 || stem.front() == '@') return false;
    return std::all_of(stem.begin(), stem.end(), [](char c) {
        return bare_key_char(c) || c == ':' || c == '.' || c == '\\' || c == '@';
    });
}

bool valid_container_name(std::string_view name) {
    if (name.empty() || name.size() > 128) return false;
    auto ok = [](char c) { return bare_key_char(c) || c == '.'; };
    return name.front() != '-' && name.front() != '_' && name.front() != '.' && std::all_of(name.begin(), name.end(), ok);
}

} // namespace fjord
