#include "manifest/validate.hpp"

#include "manifest/container_toml.hpp"
#include "manifest/manifest_toml.hpp"
#include "manifest/units.hpp"
#include "util/hash.hpp"
#include <algorithm>

namespace fjord {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_hex_id(std::string_view id) {
    return id.size() == 40 && std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// What the renderer refuses in names: line breaks and NUL (check_name in render.cpp).
bool has_break(std::string_view s) { return s.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos; }

// As manifest_toml.cpp takes owner and group: names or numeric ids, no blank, ':' or '/'.
bool valid_user(std::string_view s) {
    return !s.empty() && s.size() <= 256 && std::none_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == ':' || c == '/' || c == 0x7f;
    });
}

// A path of thousands of bytes as a message shows it: both ends, so the reason after it is not
// cut off (fjordd bounds a render child's message to 4 KiB).
std::string shortened(const std::string &s) {
    constexpr std::size_t keep = 400;
    if (s.size() <= 2 * keep + 3) return s;
    auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80; };
    std::size_t head = keep, tail = s.size() - keep;
    while (head > 0 && continuation(head)) --head; // never half a UTF-8 character
    while (tail < s.size() && continuation(tail)) ++tail;
    return s.substr(0, head) + "..." + s.substr(tail);
}

/// An absolute, normalised host path: "/a/b", no "", "." or ".." segment, no control character.
Status check_host_path(const std::string &path) {
    auto bad = [&](const char *why) { return fail(Errc::invalid, "host path \"" + printable(path) + "\": " + why); };
    if (path.size() < 2 || path.front() != '/') return bad("not an absolute path below /");
    if (has_break(path)) return bad("line breaks or NUL");
    for (std::size_t i = 1, j; i <= path.size(); i = j + 1) {
        j = std::min(path.find('/', i), path.size());
        std::string_view seg = std::string_view(path).substr(i, j - i);
        if (seg.empty() || seg == "." || seg == "..") return bad("not normalised");
    }
    return {};
}

} // namespace

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (u < 0x20 || u == 0x7f) out += "\\x" + std::string(1, "0123456789abcdef"[u >> 4]) + "0123456789abcdef"[u & 15];
        else out += c;
    }
    return out;
}

Status check_protect(const std::string &path, const std::string &origin, const std::vector<std::string> &protect,
                     const std::vector<std::string> &own) {
    for (const auto &p : own)
        if (path == p || starts_with(path, p + "/") || starts_with(p, path + "/"))
            return fail(Errc::refused, origin + ": " + path + (path == p || starts_with(path, p + "/") ? " is" : " would replace") +
                                           " fjord's own " + p + " (its state, keys, identity, config or socket): a commit can never write it");
    for (const auto &entry : protect) {
        std::string p = entry;
        while (p.size() > 1 && p.back() == '/') p.pop_back();
        if (p.empty()) continue;
        if (p == "/" || path == p || starts_with(path, p + "/"))
            return fail(Errc::refused, origin + ": " + path + " is protected (apply.protect has " + entry + ")");
        // Writing a file or link where a protected folder lies would remove what it protects.
        if (starts_with(p, path + "/"))
            return fail(Errc::refused, origin + ": " + path + " would replace the protected " + entry + " (apply.protect)");
    }
    return {};
}

Status check_container_volumes(const ContainerSpec &c, const std::vector<std::string> &protect, const std::vector<std::string> &own) {
    for (const auto &v : c.volumes) {
        auto refuse = [&](const std::string &why) {
            return fail(Errc::refused, c.origin + ": container." + c.name + ": volumes: \"" + printable(v.host) + ":" +
                                           printable(v.container) + "\": " + why + " (apply.protect)");
        };
        for (const auto &p : own)
            if (v.host == "/" || v.host == p || starts_with(v.host, p + "/") || starts_with(p, v.host + "/"))
                return fail(Errc::refused, c.origin + ": container." + c.name + ": volumes: \"" + printable(v.host) + ":" +
                                               printable(v.container) + "\": would hand fjord's own " + p +
                                               " (its state, keys, identity, config or socket) to the container");
        for (const auto &entry : protect) {
            std::string p = entry;
            while (p.size() > 1 && p.back() == '/') p.pop_back();
            if (p.empty()) continue;
            if (p == "/" || v.host == "/" || v.host == p || starts_with(v.host, p + "/"))
                return refuse(printable(v.host) + " is protected by " + entry);
            if (starts_with(p, v.host + "/")) return refuse(printable(v.host) + " contains the protected " + entry);
        }
    }
    return {};
}

Status check_name_limits(const std::string &path, const std::string &origin) {
    // Limits of the host path itself, not of apply.root + path: fjord walks it a name at a time
    // (openat), so a long apply.root costs nothing.
    constexpr std::size_t name_max = 255, path_max = 4095;
    for (std::size_t i = 1, j; i < path.size(); i = j + 1) {
        j = std::min(path.find('/', i), path.size());
        if (j - i > name_max)
            return fail(Errc::invalid, shortened(origin) + ": a name of " + std::to_string(j - i) +
                                           " bytes in its host path; a file or folder name on Linux is at most " +
                                           std::to_string(name_max) + " bytes (NAME_MAX)");
        // fjord's own temp names (".fjord-tmp.HASH", and ".NAME.fjord-tmp" of older versions):
        // writing or recovering a sibling removes them, so the repo may not use them.
        std::string_view name(path.data() + i, j - i);
        if (name.starts_with(".fjord-tmp") || (name.starts_with(".") && name.ends_with(".fjord-tmp")))
            return fail(Errc::invalid, shortened(origin) + ": \"" + printable(name) + "\" is a name fjord uses for its own temp files");
    }
    if (path.size() > path_max)
        return fail(Errc::invalid, shortened(origin) + ": its host path is " + std::to_string(path.size()) +
                                       " bytes; a host path is at most " + std::to_string(path_max) + " bytes (PATH_MAX less its NUL)");
    return {};
}

Status check_link(const std::string &path, const std::string &target, const std::string &origin) {
    if (target.empty()) return fail(Errc::invalid, origin + ": empty symlink target");
    if (target.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos)
        return fail(Errc::invalid, origin + ": symlink target \"" + printable(target) + "\" has control characters");
    if (target.front() == '/')
        return fail(Errc::invalid, origin + ": symlink escapes apply.root (target \"" + target + "\" is absolute)");
    std::size_t depth = std::size_t(std::count(path.begin(), path.end(), '/')) - 1; // folders above the link
    for (std::size_t i = 0, j; i <= target.size(); i = j + 1) {
        j = std::min(target.find('/', i), target.size());
        std::string_view seg = std::string_view(target).substr(i, j - i);
        if (seg.empty() || seg == ".") continue;
        if (seg != "..") ++depth;
        else if (depth == 0)
            return fail(Errc::invalid, origin + ": symlink escapes apply.root (target \"" + target + "\" leaves /)");
        else --depth;
    }
    return {};
}

// A symlink whose target walks through another managed symlink as a folder is refused: the
// lexical check of each link alone cannot see that "l2 -> l1/../.." with "l1 -> .." leaves the
// root once the kernel resolves l1.
Error link_chain_error(const std::string &origin, const std::string &target, const std::string &here) {
    return Error{Errc::invalid, origin + ": symlink target \"" + target + "\" goes through the managed symlink " + here +
                                    "; chains of symlinks are refused (they can resolve outside apply.root)"};
}

Status check_link_chains(const std::map<std::string, FileSpec> &files) {
    for (const auto &[path, f] : files) {
        if (f.kind != FileKind::symlink) continue;
        auto here = link_on_the_way(path, f.target, [&files](const std::string &p) {
            auto it = files.find(p);
            return it != files.end() && it->second.kind == FileKind::symlink;
        });
        if (!here.empty()) return fail(link_chain_error(f.origin, f.target, here));
    }
    return {};
}

Error parents_error(const std::string &below_origin, const std::string &path, const FileSpec &f) {
    return Error{Errc::invalid, below_origin + ": needs " + path + " to be a folder, but " + f.origin + " makes it a " +
                                    (f.kind == FileKind::symlink ? "symlink" : "file")};
}

Status check_parents(const std::map<std::string, FileSpec> &files) {
    for (const auto &[path, f] : files) {
        auto below = files.lower_bound(path + "/");
        if (below != files.end() && starts_with(below->first, path + "/")) return fail(parents_error(below->second.origin, path, f));
    }
    return {};
}

Status validate_desired(const DesiredState &d, const RenderOptions &opts, const std::string &commit) {
    if (d.commit != commit) return fail(Errc::invalid, "rendered commit \"" + printable(d.commit) + "\" is not " + commit);
    // Unit files count against max_files in the renderer; their limits drop-ins come on top.
    if (d.files.size() > opts.max_files + d.units.size())
        return fail(Errc::refused, std::to_string(d.files.size()) + " files, more than apply.max_files (" +
                                       std::to_string(opts.max_files) + ")");
    for (const auto &[path, f] : d.files) {
        std::string origin = printable(f.origin);
        FJORD_TRY(check_name_limits(path, origin));
        FJORD_TRY(check_host_path(path));
        // Lambdas do not capture structured bindings before C++20's P1091 (clang 14 refuses it).
        auto bad = [&, &path = path](const std::string &why) { return fail(Errc::invalid, origin + ": " + path + ": " + why); };
        if (f.path != path) return bad("listed under another path");
        if (has_break(f.origin)) return bad("bad origin");
        FJORD_TRY(check_protect(path, origin, opts.protect, opts.own));
        for (const auto *name : {&f.owner, &f.group})
            if (!valid_user(*name))
                return bad("bad owner or group \"" + printable(*name) + "\"");
        if (f.kind == FileKind::symlink) {
            if (f.mode != 0777 || f.secret || !f.validate.empty()) return bad("a symlink with a mode, secret or validate");
            FJORD_TRY(check_link(path, f.target, origin));
            continue;
        }
        if (!f.target.empty()) return bad("a file with a link target");
        if (!is_hex_id(f.id)) return bad("content id \"" + printable(f.id) + "\" is not a 40-digit blob id");
        if (f.mode & ~0777u) return bad("mode " + std::to_string(f.mode) + ": setuid/setgid/sticky bits are refused");
        if (!f.secret && !f.secret_mac.empty()) return bad("a digest on a file that is no secret");
        if (has_break(f.secret_mac)) return bad("bad secret digest");
    }
    for (const auto &[id, content] : d.blobs) {
        if (content.size() > opts.max_file_size)
            return fail(Errc::refused, "rendered content " + printable(id) + ": " + std::to_string(content.size()) +
                                           " bytes, larger than apply.max_file_size");
        if (!is_hex_id(id) || blob_id(content) != id)
            return fail(Errc::invalid, "rendered content " + printable(id) + ": its id is not the hash of its content");
    }
    FJORD_TRY(check_parents(d.files));
    FJORD_TRY(check_link_chains(d.files));
    if (!d.partial && !d.touched.empty()) return fail(Errc::invalid, "paths touched by a whole render");
    for (const auto &path : d.touched) FJORD_TRY(check_host_path(path));
    for (const auto &[name, u] : d.units) {
        auto bad = [&, &name = name](const std::string &why) { return fail(Errc::invalid, "unit " + printable(name) + ": " + why); };
        if (u.name != name || !valid_unit_name(name)) return bad("not a systemd unit name");
        if (!u.id.empty() && !is_hex_id(u.id)) return bad("bad content id");
        if (has_break(u.origin)) return bad("bad origin");
        for (const auto &[conf, id] : u.dropins)
            if (!conf.ends_with(".conf") || conf.size() <= 5 || conf.find('/') != std::string::npos || has_break(conf) || !is_hex_id(id))
                return bad("bad drop-in " + printable(conf));
        if (u.state != "started" && u.state != "stopped") return bad("state must be started or stopped");
        if (u.on_change != "restart" && u.on_change != "reload" && u.on_change != "none")
            return bad("on_change must be restart, reload or none");
    }
    for (const auto &[name, c] : d.containers) {
        if (c.name != name || !valid_container_name(name) || has_break(c.origin))
            return fail(Errc::invalid, "container " + printable(name) + ": not a valid container name");
        // Every field podman gets, as the parser takes it; then the volumes against apply.protect.
        if (auto ok = check_container_fields(c); !ok) return fail(Errc::invalid, "container " + printable(name) + ": " + ok.error().message);
        FJORD_TRY(check_container_volumes(c, opts.protect, opts.own));
    }
    for (const auto &h : d.hooks)
        if (h.when != "pre-apply" && h.when != "post-apply" && h.when != "post-rollback")
            return fail(Errc::invalid, "hook \"" + printable(h.when) + "\": when must be pre-apply, post-apply or post-rollback");
    for (const auto &c : d.checks)
        if (has_break(c.name)) return fail(Errc::invalid, "check \"" + printable(c.name) + "\": line breaks in its name");
    for (const auto &[k, v] : d.vars)
        if (has_break(k)) return fail(Errc::invalid, "var \"" + printable(k) + "\": control characters in its name");
    return {};
}

Status complete_partial(DesiredState &d, const RenderOptions &opts) {
    // As the renderer counts: every file and unit file, not fjord's own limits drop-ins.
    std::uint64_t count = 0;
    for (const auto &[path, f] : d.files) count += f.origin.starts_with("limits of unit ") ? 0 : 1;
    if (count > opts.max_files)
        return fail(Errc::refused, opts.host_path + ": " + std::to_string(count) +
                                       " files with its includes, more than apply.max_files (" + std::to_string(opts.max_files) + ")");
    FJORD_TRY(check_parents(d.files));
    FJORD_TRY(check_link_chains(d.files));
    d.partial = false;
    d.touched.clear();
    return {};
}

} // namespace fjord
