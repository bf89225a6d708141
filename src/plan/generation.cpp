#include "plan/generation.hpp"

#include "manifest/desired_state_json.hpp"
#include <charconv>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fjord {

// Fields are separated by spaces; a field escapes '%', space, tab, CR, LF and ',' as %XX so
// that any path or link target survives a round trip.
std::string esc(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    static const char *hex = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if (c == '%' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c < 0x20) {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out.empty() ? "%00" : out; // an empty field must still be a field; "%00" decodes to ""
}

bool unesc(std::string_view s, std::string &out) {
    out.clear();
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return false;
        unsigned v = 0;
        auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
        if (r.ec != std::errc{}) return false;
        if (v != 0) out += static_cast<char>(v);
        i += 2;
    }
    return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        auto p = s.find(sep, start);
        out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
        if (p == std::string_view::npos) break;
        start = p + 1;
    }
    return out;
}

Fields split_fields(std::string_view s, char sep) {
    Fields f;
    std::size_t start = 0;
    for (;;) {
        auto p = s.find(sep, start);
        if (f.size == f.at.size()) {
            f.size = f.at.size() + 1;
            return f;
        }
        f.at[f.size++] = s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start);
        if (p == std::string_view::npos) return f;
        start = p + 1;
    }
}

namespace {

template <class T> bool num(std::string_view s, T &out, int base = 10) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

std::string mode_str(unsigned m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", m);
    return buf;
}

std::string orig_str(const Original &o) {
    if (!o.existed) return "-";
    if (o.kind == FileKind::symlink)
        return "l," + esc(o.target) + "," + std::to_string(o.uid) + "," + std::to_string(o.gid);
    return "f," + o.id + "," + mode_str(o.mode) + "," + std::to_string(o.uid) + "," + std::to_string(o.gid) +
           (o.sealed ? ",age" : "");
}

bool parse_orig(std::string_view s, Original &o) {
    o = Original{};
    if (s == "-") return true;
    auto ff = split_fields(s, ',');
    const auto &f = ff.at;
    const std::size_t n = ff.size;
    o.existed = true;
    if (f[0] == "l" && n == 4) {
        o.kind = FileKind::symlink;
        return unesc(f[1], o.target) && num(f[2], o.uid) && num(f[3], o.gid);
    }
    if (f[0] == "f" && (n == 5 || (n == 6 && f[5] == "age"))) {
        o.kind = FileKind::file;
        o.id = std::string(f[1]);
        o.sealed = n == 6;
        return num(f[2], o.mode, 8) && num(f[3], o.uid) && num(f[4], o.gid);
    }
    return false;
}

} // namespace

const char *outcome_name(Outcome o) {
    switch (o) {
    case Outcome::pending: return "pending";
    case Outcome::good: return "good";
    case Outcome::rolled_back: return "rolled-back";
    case Outcome::refused: return "refused";
    }
    return "?";
}

Result<Outcome> parse_outcome(std::string_view s) {
    for (auto o : {Outcome::pending, Outcome::good, Outcome::rolled_back, Outcome::refused})
        if (s == outcome_name(o)) return o;
    return fail(Errc::invalid, "unknown outcome \"" + std::string(s) + "\"");
}

bool same_on_host(const FileSpec &a, const FileSpec &b) {
    // A secret encrypted again (new ciphertext, same plaintext) puts the same bytes on the host.
    bool same_content = a.secret && b.secret && !a.secret_mac.empty() ? a.secret_mac == b.secret_mac : a.id == b.id;
    return a.path == b.path && a.kind == b.kind && same_content && a.target == b.target && a.mode == b.mode &&
           a.owner == b.owner && a.group == b.group;
}

bool same_unit(const UnitSpec &a, const UnitSpec &b) {
    return a.enable == b.enable && a.state == b.state && a.on_change == b.on_change && a.watch == b.watch;
}

// SECRET is "0" (plain), "1" (a secret of unknown digest) or the secret's keyed digest (64 hex
// digits): never the plaintext or a plain hash of it.
static std::string secret_field(const FileSpec &s) { return !s.secret ? "0" : s.secret_mac.empty() ? "1" : s.secret_mac; }

static bool parse_secret(std::string_view f, FileSpec &s) {
    s.secret = f != "0";
    s.secret_mac.clear();
    if (f == "0" || f == "1") return true;
    if (f.size() != 64 || f.find_first_not_of("0123456789abcdef") != std::string_view::npos) return false;
    s.secret_mac = std::string(f);
    return true;
}

// Line forms:
//   f PATH ID MODE OWNER GROUP SECRET ORIG ORIGIN
//   l PATH TARGET OWNER GROUP ORIG ORIGIN
//   d PATH
//   u NAME ENABLE STATE ON_CHANGE WATCH,WATCH,...   (format 1 only)
//   c NAME IMAGE SPEC            (SPEC: container_spec_json; files without c lines still load)
//   U JSON                       a unit's whole spec (format 2; format 1 had u lines)
//   k JSON                       a [[check]], in the manifest's order (format 2)
//   h JSON                       a [[hook]], in the manifest's order (format 2)
// Format 2 keeps checks and hooks; a format 1 file loads with checks_kept = false.
void serialize_files(const Generation &g, const std::function<void(std::string_view)> &emit) {
    emit("fjord-files 2");
    std::string line;
    for (const auto &[path, af] : g.files) {
        const FileSpec &s = af.spec;
        if (s.kind == FileKind::file)
            line = "f " + esc(path) + " " + s.id + " " + mode_str(s.mode) + " " + esc(s.owner) + " " + esc(s.group) + " " +
                   secret_field(s) + " " + orig_str(af.orig) + " " + esc(s.origin);
        else
            line = "l " + esc(path) + " " + esc(s.target) + " " + esc(s.owner) + " " + esc(s.group) + " " + orig_str(af.orig) +
                   " " + esc(s.origin);
        emit(line);
    }
    for (const auto &d : g.dirs) emit("d " + esc(d));
    for (const auto &[name, u] : g.units) emit("U " + esc(nlohmann::json(u).dump()));
    for (const auto &c : g.checks) emit("k " + esc(nlohmann::json(c).dump()));
    for (const auto &h : g.hooks) emit("h " + esc(nlohmann::json(h).dump()));
    for (const auto &[name, c] : g.containers) emit("c " + esc(name) + " " + esc(c.image) + " " + esc(container_spec_json(c.spec)));
}

std::string serialize_files(const Generation &g) {
    // Sized up front: grown by doubling, a 14 MB text (100,000 files) peaked at 30 MB. A line is
    // about its path twice (the path, the origin) and ~100 bytes of id, fields and origin folder.
    std::size_t size = 64 * 1024;
    for (auto it = g.files.begin(); it != g.files.end(); ++it) size += 2 * it.path().size() + 100;
    std::string out;
    out.reserve(size);
    serialize_files(g, [&out](std::string_view line) {
        out.append(line);
        out += '\n';
    });
    return out;
}

Status parse_files(std::string_view text, Generation &g, const std::string &where, bool keep_paths) {
    return parse_files(std::vector<std::string_view>{text}, g, where, keep_paths);
}

Status parse_files(const std::vector<std::string_view> &pieces, Generation &g, const std::string &where, bool keep_paths) {
    g.files.clear();
    g.dirs.clear();
    g.units.clear();
    g.containers.clear();
    g.checks.clear();
    g.hooks.clear();
    std::size_t lineno = 0;
    bool header = false;
    std::size_t piece = 0, at = 0;
    // The next line of the pieces (a piece's end ends a line too); false at the end.
    auto next_line = [&](std::string_view &line) {
        while (piece < pieces.size() && at >= pieces[piece].size()) {
            ++piece;
            at = 0;
        }
        if (piece == pieces.size()) return false;
        std::string_view p = pieces[piece];
        auto end = p.find('\n', at);
        if (end == std::string_view::npos) end = p.size();
        line = p.substr(at, end - at);
        at = end + 1;
        return true;
    };
    for (std::string_view line; next_line(line);) {
        ++lineno;
        if (line.empty()) continue;
        auto bad = [&] { return fail(Errc::invalid, where + ":" + std::to_string(lineno) + ": malformed entry"); };
        if (!header) {
            if (line != "fjord-files 1" && line != "fjord-files 2") return fail(Errc::invalid, where + ": not a fjord generation file");
            g.checks_kept = line == "fjord-files 2";
            header = true;
            continue;
        }
        auto ff = split_fields(line, ' ');
        const auto &f = ff.at;
        if ((f[0] == "U" || f[0] == "k" || f[0] == "h") && ff.size == 2) {
            std::string text;
            if (!unesc(f[1], text)) return bad();
            auto j = nlohmann::json::parse(text, nullptr, false);
            if (j.is_discarded() || !j.is_object()) return bad();
            // A hand-edited or truncated record is refused, never half read.
            try {
                if (f[0] == "U") {
                    auto u = j.get<UnitSpec>();
                    g.units[u.name] = std::move(u);
                } else if (f[0] == "k") {
                    g.checks.push_back(j.get<CheckSpec>());
                } else {
                    g.hooks.push_back(j.get<HookSpec>());
                }
            } catch (const std::exception &) {
                return bad();
            }
            continue;
        }
        if (f[0] == "u" && ff.size == 6) {
            UnitSpec u;
            if (!unesc(f[1], u.name) || !unesc(f[3], u.state) || !unesc(f[4], u.on_change)) return bad();
            u.enable = f[2] == "1";
            if (f[5] != "-")
                for (auto w : split(f[5], ',')) {
                    std::string one;
                    if (!unesc(w, one)) return bad();
                    u.watch.push_back(one);
                }
            g.units.emplace(u.name, std::move(u));
            continue;
        }
        if (f[0] == "c" && ff.size == 4) {
            std::string name, text;
            AppliedContainer c;
            if (!unesc(f[1], name) || !unesc(f[2], c.image) || !unesc(f[3], text)) return bad();
            auto spec = container_spec_from_json(text);
            if (!spec) return fail(Errc::invalid, where + ":" + std::to_string(lineno) + ": " + spec.error().message);
            c.spec = std::move(*spec);
            g.containers.emplace(name, std::move(c));
            continue;
        }
        std::string path;
        if (ff.size < 2 || !unesc(f[1], path) || path.empty() || path[0] != '/') return bad();
        if (f[0] == "d" && ff.size == 2) {
            if (keep_paths) g.dirs.insert(path);
            continue;
        }
        AppliedFile af;
        FileSpec &s = af.spec;
        s.path = path;
        if (f[0] == "f" && ff.size == 9) {
            s.kind = FileKind::file;
            s.id = std::string(f[2]);
            if (!num(f[3], s.mode, 8) || !unesc(f[4], s.owner) || !unesc(f[5], s.group) || !parse_orig(f[7], af.orig) ||
                !unesc(f[8], s.origin))
                return bad();
            if (!parse_secret(f[6], s)) return bad();
        } else if (f[0] == "l" && ff.size == 7) {
            s.kind = FileKind::symlink;
            s.mode = 0777;
            if (!unesc(f[2], s.target) || !unesc(f[3], s.owner) || !unesc(f[4], s.group) || !parse_orig(f[5], af.orig) ||
                !unesc(f[6], s.origin))
                return bad();
        } else {
            return bad();
        }
        if (keep_paths) g.files.emplace(path, std::move(af));
    }
    if (!header) return fail(Errc::invalid, where + ": empty generation file");
    g.files.shrink_to_fit();
    return {};
}

std::string serialize_info(const GenerationInfo &info) {
    std::string msg = info.message;
    for (auto &c : msg)
        if (c == '\n') c = ' ';
    return "number " + std::to_string(info.number) + "\ncommit " + (info.commit.empty() ? "-" : info.commit) +
           "\ntime " + std::to_string(info.time) + "\noutcome " + outcome_name(info.outcome) + "\nmessage " + msg + "\n" +
           (info.changes.empty() ? "" : "changes " + info.changes + "\n");
}

Result<GenerationInfo> parse_info(std::string_view text, const std::string &where) {
    GenerationInfo info;
    for (auto line : split(text, '\n')) {
        if (line.empty()) continue;
        auto sp = line.find(' ');
        auto key = line.substr(0, sp);
        auto val = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        bool ok = true;
        if (key == "number") ok = num(val, info.number);
        else if (key == "commit") info.commit = val == "-" ? "" : std::string(val);
        else if (key == "time") ok = num(val, info.time);
        else if (key == "outcome") {
            auto o = parse_outcome(val);
            ok = o.has_value();
            if (ok) info.outcome = *o;
        } else if (key == "message") info.message = std::string(val);
        else if (key == "changes") info.changes = std::string(val);
        if (!ok) return fail(Errc::invalid, where + ": bad value for " + std::string(key));
    }
    if (info.number == 0) return fail(Errc::invalid, where + ": no generation number");
    return info;
}

} // namespace fjord
