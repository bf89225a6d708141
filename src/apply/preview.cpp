#include "apply/preview.hpp"

#include "apply/store.hpp"
#include "apply/transaction.hpp"
#include "manifest/validate.hpp"
#include "plan/containers.hpp"
#include "util/git_handles.hpp"
#include <algorithm>
#include <cstdio>
#include <grp.h>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <functional>
#include <vector>

namespace fjord {
namespace {

using git_patch_ptr = std::unique_ptr<git_patch, git_deleter<git_patch_free>>;

std::string octal(unsigned mode) {
    char b[8];
    std::snprintf(b, sizeof b, "%04o", mode & 07777u);
    return b;
}

std::string user_name(uid_t uid) {
    struct passwd pw, *res = nullptr;
    char buf[4096];
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return pw.pw_name;
    return std::to_string(uid);
}

std::string group_name(gid_t gid) {
    struct group gr, *res = nullptr;
    char buf[4096];
    if (::getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res) return gr.gr_name;
    return std::to_string(gid);
}

const char *kind_name(LiveKind k) {
    switch (k) {
    case LiveKind::absent: return "absent";
    case LiveKind::file: return "file";
    case LiveKind::symlink: return "symlink";
    case LiveKind::dir: return "folder";
    case LiveKind::other: return "special file";
    }
    return "?";
}

std::size_t count_lines(const std::string &s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

/// The new content of a file: rendered, stored, or in the Git cache (read only).
Result<std::string> new_content(const FileSpec &spec, const DesiredState &desired, const PreviewSources &src, std::uint64_t max) {
    if (auto it = desired.blobs.find(spec.id); it != desired.blobs.end()) {
        if (it->second.size() > max) return fail(Errc::refused, "larger than " + std::to_string(max) + " bytes");
        return it->second;
    }
    if (src.store && src.store->has_object(spec.id)) return src.store->get_object(spec.id, max);
    if (src.repo) return src.repo->read_blob(spec.id, max);
    return fail(Errc::not_found, "content " + spec.id + " is not at hand");
}

/// One file written: its header line, what changes of its type, mode and owner, and its diff.
std::string file_block(const Action &a, const Plan &plan, const Generation &prev, const DesiredState &desired, const PreviewSources &src,
                       const PreviewLimits &lim) {
    const FileSpec &spec = plan.next.files.at(a.path).spec;
    std::string path = printable(a.path);
    auto old = prev.files.find(a.path);
    bool secret = spec.secret || (old != prev.files.end() && old->second.spec.secret);
    auto live = src.fs.stat(a.path);
    LiveKind kind = live ? live->kind : LiveKind::absent;
    std::string out = (kind == LiveKind::absent ? "+ " : "~ ") + path;
    if (a.adopt) out += " (adopted: original kept)";
    if (secret) out += kind == LiveKind::absent ? " (secret added)" : " (secret changed)";
    out += "\n";
    if (!live) return out + "  (the live path cannot be read: " + live.error().message + ")\n";
    LiveKind want = spec.kind == FileKind::symlink ? LiveKind::symlink : LiveKind::file;
    if (kind != LiveKind::absent && kind != want) out += std::string("  type ") + kind_name(kind) + " -> " + kind_name(want) + "\n";
    if (kind == want && want == LiveKind::file && live->mode != spec.mode)
        out += "  mode " + octal(live->mode) + " -> " + octal(spec.mode) + "\n";
    if (kind != LiveKind::absent) {
        std::string was = user_name(live->uid) + ":" + group_name(live->gid);
        std::string now = spec.owner + ":" + spec.group;
        if (was != now && want == LiveKind::file) out += "  owner " + printable(was) + " -> " + printable(now) + "\n";
    }
    if (want == LiveKind::symlink) {
        std::string was;
        if (kind == LiveKind::symlink)
            if (auto t = src.fs.read_link(a.path)) was = *t;
        if (was != spec.target) out += "  link -> " + (kind == LiveKind::symlink ? printable(was) + " => " : "") + printable(spec.target) + "\n";
        return out;
    }
    if (secret) return out; // never a byte of either side
    std::string before;
    if (kind == LiveKind::file) {
        if (live->size > lim.max_bytes) return out + "  (" + std::to_string(live->size) + " bytes on the host: not diffed)\n";
        auto r = src.fs.read_file(a.path, lim.max_bytes);
        if (!r) return out + "  (the live file cannot be read: " + r.error().message + ")\n";
        before = std::move(*r);
    }
    auto after = new_content(spec, desired, src, lim.max_bytes);
    if (!after) return out + "  (the new content is not diffed: " + after.error().message + ")\n";
    std::string old_label = kind == LiveKind::file ? path + " (live)" : "/dev/null";
    return out + unified_diff(before, *after, old_label, path + " (" + src.new_label + ")", lim.file_lines);
}

std::string unit_settings(const UnitSpec &u) {
    auto list = [](const std::vector<std::string> &v) {
        std::string s;
        for (const auto &x : v) s += (s.empty() ? "" : " ") + x;
        return s;
    };
    return "enable = " + std::string(u.enable ? "true" : "false") + "\nstate = " + u.state + "\non_change = " + u.on_change +
           "\nwatch = " + list(u.watch) + "\npre_restart = " + list(u.pre_restart) + "\nmemory = " + u.memory + "\ncpu = " + u.cpu + "\n";
}

/// Units added, removed or asking systemd for something new, with the steps the plan takes.
std::string units_block(const Plan &plan, const Generation &prev) {
    std::string out;
    const auto &next = plan.next.units;
    auto lines = [](const std::string &s) {
        std::vector<std::string> v;
        for (std::size_t i = 0; i < s.size();) {
            auto j = s.find('\n', i);
            if (j == std::string::npos) j = s.size();
            v.push_back(s.substr(i, j - i));
            i = j + 1;
        }
        return v;
    };
    for (const auto &[name, u] : prev.units)
        if (!next.count(name)) out += "- unit " + printable(name) + "\n";
    for (const auto &[name, u] : next) {
        auto old = prev.units.find(name);
        if (old == prev.units.end()) {
            out += "+ unit " + printable(name) + "\n";
            continue;
        }
        auto a = lines(unit_settings(old->second)), b = lines(unit_settings(u));
        std::string changes;
        for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
            if (a[i] != b[i]) changes += "  " + printable(a[i]) + " -> " + printable(b[i].substr(b[i].find('=') + 2)) + "\n";
        if (old->second.dropins != u.dropins) changes += "  drop-ins changed\n";
        if (!changes.empty()) out += "~ unit " + printable(name) + "\n" + changes;
    }
    std::string steps;
    for (const auto *v : {&plan.units.before, &plan.units.after})
        for (const auto &s : *v) steps += "  " + printable(describe(s)) + "\n";
    if (plan.units.reload_daemon) steps = "  daemon-reload\n" + steps;
    if (!steps.empty()) out += "systemd:\n" + steps;
    return out;
}

std::string container_json(const ContainerSpec &s) {
    auto j = nlohmann::json::parse(container_spec_json(s), nullptr, false);
    return j.is_discarded() ? container_spec_json(s) + "\n" : j.dump(2) + "\n";
}

} // namespace

std::string unified_diff(std::string_view old_text, std::string_view new_text, const std::string &old_label, const std::string &new_label,
                         std::size_t max_lines) {
    if (old_text == new_text) return "";
    auto binary = [](std::string_view s) { return s.substr(0, 8000).find('\0') != std::string_view::npos; };
    if (binary(old_text) || binary(new_text)) return "Binary files differ\n";
    static const int init = git_libgit2_init();
    (void)init;
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.flags |= GIT_DIFF_FORCE_TEXT;
    git_patch *raw = nullptr;
    if (git_patch_from_buffers(&raw, old_text.data(), old_text.size(), nullptr, new_text.data(), new_text.size(), nullptr, &opts) < 0)
        return std::string("(no diff: ") + git_last_message() + ")\n";
    git_patch_ptr patch(raw);
    std::string out = "--- " + old_label + "\n+++ " + new_label + "\n";
    std::size_t shown = 0, left = 0;
    std::size_t hunks = git_patch_num_hunks(patch.get());
    for (std::size_t h = 0; h < hunks; ++h) {
        const git_diff_hunk *hunk = nullptr;
        std::size_t n = 0;
        if (git_patch_get_hunk(&hunk, &n, patch.get(), h) < 0) break;
        if (shown >= max_lines) {
            left += n + 1;
            continue;
        }
        out.append(hunk->header, hunk->header_len);
        if (out.back() != '\n') out += '\n';
        ++shown;
        for (std::size_t i = 0; i < n; ++i) {
            if (shown >= max_lines) {
                left += n - i;
                break;
            }
            const git_diff_line *line = nullptr;
            if (git_patch_get_line_in_hunk(&line, patch.get(), h, i) < 0) break;
            ++shown;
            switch (line->origin) {
            case GIT_DIFF_LINE_CONTEXT_EOFNL:
            case GIT_DIFF_LINE_ADD_EOFNL:
            case GIT_DIFF_LINE_DEL_EOFNL: out += "\\ No newline at end of file\n"; continue;
            default: break;
            }
            out += line->origin;
            out.append(line->content, line->content_len);
            if (line->content_len == 0 || line->content[line->content_len - 1] != '\n') out += '\n';
        }
    }
    if (left > 0) out += "... " + std::to_string(left) + " more lines\n";
    return out;
}

std::string preview(const Plan &plan, const Generation &prev, const DesiredState &desired, const PreviewSources &src,
                    const PreviewLimits &lim) {
    // Each change is made only while the output has room: a commit of a million files costs
    // the diffs that are shown, not a million of them.
    std::vector<std::function<std::string()>> changes;
    for (const auto &a : plan.actions) {
        std::string path = printable(a.path);
        switch (a.kind) {
        case ActionKind::remove: changes.push_back([path] { return "- " + path + "\n"; }); break;
        case ActionKind::restore: changes.push_back([path] { return "< " + path + " (original restored)\n"; }); break;
        case ActionKind::rmdir: changes.push_back([path] { return "- " + path + "/\n"; }); break;
        case ActionKind::mkdir: changes.push_back([path] { return "+ " + path + "/\n"; }); break;
        case ActionKind::write: changes.push_back([&, a] { return file_block(a, plan, prev, desired, src, lim); }); break;
        }
    }
    if (prev.units != plan.next.units || !plan.units.empty()) changes.push_back([&] { return units_block(plan, prev); });
    for (const auto &c : plan.containers)
        changes.push_back([&, c] {
            std::string b = printable(describe(c, prev.containers, plan.next.containers)) + "\n";
            if (c.kind == ContainerChange::replace)
                b += unified_diff(container_json(prev.containers.at(c.name).spec), container_json(plan.next.containers.at(c.name).spec),
                                  "container " + printable(c.name) + " (applied)",
                                  "container " + printable(c.name) + " (" + src.new_label + ")", lim.file_lines);
            return b;
        });
    std::string out;
    std::size_t lines = 0;
    for (std::size_t i = 0; i < changes.size(); ++i) {
        std::string b = changes[i]();
        std::size_t n = count_lines(b);
        if (i > 0 && (lines + n > lim.total_lines || out.size() + b.size() > lim.total_bytes)) {
            out += "... " + std::to_string(changes.size() - i) + " more changes not shown (fjordctl diff --stat lists them all)\n";
            break;
        }
        out += b;
        lines += n;
    }
    return out;
}

} // namespace fjord
