#include "plan/plan.hpp"

#include "manifest/units.hpp"
#include "manifest/validate.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

namespace fjord {
namespace {

// Every folder above a host path, outermost first, "/" excluded: "/a/b/c" -> "/a", "/a/b".
void add_parents(const std::string &path, std::set<std::string> &out) {
    for (auto pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1))
        out.insert(path.substr(0, pos));
}

bool under(const std::string &path, const std::string &top) {
    return path == top || (path.size() > top.size() && path.compare(0, top.size(), top) == 0 &&
                           (top == "/" || path[top.size()] == '/'));
}

// make_plan for a const desired state (its file specs copied into plan.next) or one it may
// take them from (moved: at 100,000 files the specs are ~40 MB, held once instead of twice).
template <class Desired>
Result<Plan> plan_for(const Generation &prev, Desired &desired, const HostProbe &host, const PlanOptions &opts) {
    constexpr bool take = !std::is_const_v<Desired>;
    auto spec_of = [](auto &spec) -> FileSpec {
        if constexpr (take) return std::move(spec);
        else return spec;
    };
    Plan plan;
    plan.next.info.commit = desired.commit;
    std::vector<Action> removes, writes;

    // A partial render (DesiredState::partial) holds what it rendered again; the base's other
    // paths (those of `prev`: the render's base is the current generation) stay as they are,
    // taken from `prev` here rather than copied into `desired` first. The base's unit files are
    // not kept: the render lists today's.
    const bool partial = desired.partial;
    const std::set<std::string> base_units = partial ? unit_file_paths(prev.units) : std::set<std::string>{};
    auto kept = [&](const std::string &path) { // a path of prev, not in desired.files
        return partial && !desired.touched.count(path) && !base_units.count(path);
    };

    // Paths Git dropped: delete what fjord created, give adopted paths their original back.
    for (auto p = prev.files.begin(); p != prev.files.end(); ++p) {
        std::string path(p.path());
        if (desired.files.count(path) || kept(path)) continue;
        const AppliedFile &af = p->second;
        // Giving an adopted file its original back deletes nothing, so it happens even with
        // prune off; only files fjord created stay behind, unmanaged.
        if (!opts.prune && !af.orig.existed) continue;
        if (af.orig.existed) {
            removes.push_back({ActionKind::restore, path});
            ++plan.restores;
        } else {
            removes.push_back({ActionKind::remove, path});
            ++plan.deletions;
        }
    }

    std::set<std::string> needed_dirs;
    plan.next.files.reserve(desired.files.size() + (partial ? prev.files.size() : 0));
    // One desired path: written when new to fjord or changed on the host's terms.
    auto plan_one = [&](const std::string &path, auto &spec) -> Status {
        add_parents(path, needed_dirs);
        auto it = prev.files.find(path);
        if (it != prev.files.end()) {
            bool write = !same_on_host(it->second.spec, spec) || opts.rewrite.count(path);
            plan.next.files.emplace(path, AppliedFile{spec_of(spec), it->second.orig});
            if (write) {
                writes.push_back({ActionKind::write, path});
                ++plan.writes;
            }
            return {};
        }
        auto live = host.kind(path);
        if (!live) return fail(std::move(live.error()));
        switch (*live) {
        case LiveKind::absent:
            writes.push_back({ActionKind::write, path});
            break;
        case LiveKind::file:
        case LiveKind::symlink:
            writes.push_back({ActionKind::write, path, true});
            break;
        case LiveKind::dir:
            return fail(Errc::refused, path + ": is a folder on the host; fjord does not replace folders with files");
        case LiveKind::other:
            return fail(Errc::refused, path + ": is a device, socket or fifo on the host; fjord leaves it alone");
        }
        ++plan.writes;
        plan.next.files.emplace(path, AppliedFile{spec_of(spec), Original{}});
        return {};
    };
    // Taking the specs, each is dropped from `desired` once in plan.next: the two are never
    // both whole (at 100,000 files a map of FileSpec is ~40 MB). The desired paths and the
    // base's kept ones are merged in path order, so plan.next is built by appending.
    auto advance = [&desired](auto d) {
        if constexpr (take) return desired.files.erase(d);
        else return std::next(d);
    };
    auto p = prev.files.begin();
    for (auto d = desired.files.begin(); d != desired.files.end() || (partial && p != prev.files.end());) {
        if (d == desired.files.end() || (p != prev.files.end() && p.path() < std::string_view(d->first))) {
            std::string path(p.path());
            if (partial && kept(path)) {
                add_parents(path, needed_dirs);
                plan.next.files.emplace(path, p->second);
                if (opts.rewrite.count(path)) {
                    writes.push_back({ActionKind::write, path});
                    ++plan.writes;
                }
            }
            ++p;
            continue;
        }
        if (p != prev.files.end() && p.path() == std::string_view(d->first)) ++p; // rendered again
        FJORD_TRY(plan_one(d->first, d->second));
        d = advance(d);
    }

    // Folders: keep the ones fjord made that are still needed, make the missing ones, and
    // remove (when empty) the ones fjord made that nothing needs any more.
    std::vector<Action> mkdirs, rmdirs;
    for (const auto &dir : needed_dirs) {
        if (prev.dirs.count(dir)) {
            plan.next.dirs.insert(dir);
            continue;
        }
        // plan.next.files holds the desired paths now (taken from `desired`).
        if (plan.next.files.count(dir))
            return fail(Errc::invalid, dir + ": is both a file and a folder in the desired state");
        bool removed_file = prev.files.count(dir) && opts.prune;
        auto live = removed_file ? Result<LiveKind>(LiveKind::absent) : host.kind(dir);
        if (!live) return fail(std::move(live.error()));
        if (*live == LiveKind::dir) continue;
        if (*live != LiveKind::absent)
            return fail(Errc::refused, dir + ": is not a folder on the host (a file or symlink); fjord does not write through it");
        mkdirs.push_back({ActionKind::mkdir, dir});
        plan.next.dirs.insert(dir);
    }
    for (auto it = prev.dirs.rbegin(); it != prev.dirs.rend(); ++it) {
        if (needed_dirs.count(*it)) continue;
        if (opts.prune) rmdirs.push_back({ActionKind::rmdir, *it});
        else plan.next.dirs.insert(*it);
    }

    // Checked again here, not only at render: a rollback replays an older generation, and the
    // protect list may have grown since it was made.
    for (const auto *part : {&writes, &removes, &rmdirs, &mkdirs})
        for (const auto &a : *part)
        {
            for (const auto &p : opts.own)
                if (under(a.path, p) || (a.kind == ActionKind::write && under(p, a.path)))
                    return fail(Errc::refused, a.path + ": fjord's own " + p + " (its state, keys, identity, config or socket); a commit can never change it");
            for (const auto &p : opts.protect)
                if (under(a.path, p))
                    return fail(Errc::refused, a.path + ": under apply.protect entry " + p + "; fjord never changes it");
        }
    plan.next.units = desired.units;
    plan.units_changed = prev.units.size() != desired.units.size();
    for (const auto &[name, u] : desired.units) {
        auto it = prev.units.find(name);
        if (it == prev.units.end() || !same_unit(it->second, u)) plan.units_changed = true;
    }
    plan.next.checks = desired.checks;
    plan.next.hooks = desired.hooks;
    // A generation from before checks were kept is not "changed" by them alone: that would
    // make a new generation at the first poll after an upgrade.
    plan.checks_changed = prev.checks_kept && (prev.checks != desired.checks || prev.hooks != desired.hooks);
    plan.containers = plan_containers(prev.containers, desired.containers, opts.pinned_containers, plan.next.containers);
    for (const auto &c : plan.containers) plan.container_removals += c.kind == ContainerChange::remove;
    for (auto *part : {&removes, &rmdirs, &mkdirs, &writes})
        plan.actions.insert(plan.actions.end(), part->begin(), part->end());
    // The units: from every path the file transaction writes, removes or puts back (unit files,
    // drop-ins and watched files among them).
    std::set<std::string> changed;
    for (const auto &a : plan.actions)
        if (a.kind == ActionKind::write || a.kind == ActionKind::remove || a.kind == ActionKind::restore) changed.insert(a.path);
    plan.units = plan_units(prev, plan.next, changed, opts.converge_units);
    plan.next.files.shrink_to_fit();
    if constexpr (take) {
        desired.partial = false; // its files are in plan.next, whole
        desired.touched.clear();
    }
    return plan;
}

// A generation's table holds at most 4 GiB of strings (FileTable): past that the commit is
// refused, not the agent stopped (a throw out of fjordd would restart it into the same commit).
template <class Desired>
Result<Plan> plan_or_refuse(const Generation &prev, Desired &desired, const HostProbe &host, const PlanOptions &opts) {
    try {
        return plan_for(prev, desired, host, opts);
    } catch (const std::length_error &) {
        return fail(Errc::invalid, "the desired state's paths, ids and origins take over 4 GiB; fjord refuses it");
    }
}

} // namespace

Result<Plan> make_plan(const Generation &prev, const DesiredState &desired, const HostProbe &host, const PlanOptions &opts) {
    return plan_or_refuse(prev, desired, host, opts);
}

Result<Plan> make_plan(const Generation &prev, DesiredState &&desired, const HostProbe &host, const PlanOptions &opts) {
    return plan_or_refuse(prev, desired, host, opts);
}

Status check_partial(const DesiredState &d, const Generation &base, const RenderOptions &opts) {
    const std::set<std::string> base_units = unit_file_paths(base.units);
    auto kept = [&](const std::string &p) {
        return !d.files.count(p) && !d.touched.count(p) && !base_units.count(p) && base.files.contains(p);
    };
    // As the renderer counts: every file and unit file, not fjord's own limits drop-ins (the
    // base's are among its unit files, never kept).
    std::uint64_t count = 0;
    for (const auto &[path, f] : d.files) count += f.origin.starts_with("limits of unit ") ? 0 : 1;
    std::set<std::string> dropped; // the base's paths not kept
    for (const auto *paths : {&d.touched, &base_units})
        for (const auto &p : *paths)
            if (base.files.contains(p)) dropped.insert(p);
    for (const auto &[p, f] : d.files)
        if (base.files.contains(p)) dropped.insert(p);
    count += base.files.size() - dropped.size();
    if (count > opts.max_files)
        return fail(Errc::refused, opts.host_path + ": " + std::to_string(count) +
                                       " files with its includes, more than apply.max_files (" + std::to_string(opts.max_files) + ")");

    for (const auto &[path, f] : d.files) {
        // Below it: a path the render gave, or one the base keeps.
        const std::string dir = path + "/";
        if (auto b = d.files.lower_bound(dir); b != d.files.end() && b->first.starts_with(dir))
            return fail(parents_error(b->second.origin, path, f));
        for (auto b = base.files.lower_bound(dir); b != base.files.end() && b.path().starts_with(dir); ++b)
            if (kept(std::string(b.path()))) return fail(parents_error(b->second.spec.origin, path, f));
        // Above it: a path the base keeps (one the render gave finds it below itself).
        for (auto pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1))
            if (std::string up = path.substr(0, pos); kept(up)) return fail(parents_error(f.origin, up, base.files.at(up).spec));
    }

    auto is_link = [&](const std::string &p) {
        if (auto it = d.files.find(p); it != d.files.end()) return it->second.kind == FileKind::symlink;
        return kept(p) && base.files.find(p).kind() == FileKind::symlink;
    };
    bool links = false;
    for (const auto &[path, f] : d.files) {
        if (f.kind != FileKind::symlink) continue;
        links = true;
        if (auto here = link_on_the_way(path, f.target, is_link); !here.empty()) return fail(link_chain_error(f.origin, f.target, here));
    }
    // A link the base keeps may go through one the render added.
    if (links)
        for (auto b = base.files.begin(); b != base.files.end(); ++b) {
            if (b.kind() != FileKind::symlink || !kept(std::string(b.path()))) continue;
            const FileSpec &f = b->second.spec;
            if (auto here = link_on_the_way(f.path, f.target, is_link); !here.empty()) return fail(link_chain_error(f.origin, f.target, here));
        }
    return {};
}

Status check_plan(const Plan &plan, const DesiredState &desired, std::uint32_t limit, std::uint32_t configured) {
    std::size_t deletions = plan.deletions + plan.container_removals;
    if (deletions > limit)
        return fail(Errc::guardrail, "the plan deletes " + std::to_string(plan.deletions) + " files" +
                                       (plan.container_removals ? " and " + std::to_string(plan.container_removals) + " containers" : "") +
                                       ", more than apply.max_deletions = " + std::to_string(configured) +
                                       "; nothing was changed. To allow it once: fjordctl sync --allow-deletions " + std::to_string(deletions));
    for (const auto &c : desired.checks)
        if (!c.container.empty() && !plan.next.containers.count(c.container))
            return fail(Errc::invalid, "check " + c.name + ": container " + c.container + ": no such container in this generation");
    return {};
}

std::string describe(const Plan &plan, const Generation &prev) {
    std::string out;
    for (const auto &a : plan.actions) {
        // A file name is the repo's to choose: its control characters (ESC, CR) are escaped, so
        // the plan cannot drive the terminal of whoever reads it, nor forge a line.
        std::string path = printable(a.path);
        switch (a.kind) {
        case ActionKind::remove: out += "- " + path + "\n"; break;
        case ActionKind::restore: out += "< " + path + " (original restored)\n"; break;
        case ActionKind::rmdir: out += "- " + path + "/\n"; break;
        case ActionKind::mkdir: out += "+ " + path + "/\n"; break;
        case ActionKind::write: {
            const auto &spec = plan.next.files.at(a.path).spec;
            auto it = prev.files.find(a.path);
            std::string note = spec.secret ? " (secret changed)" : "";
            if (it == prev.files.end()) out += "+ " + path + (a.adopt ? " (adopted: original kept)" : "") + note + "\n";
            else out += "~ " + path + note + "\n";
            break;
        }
        }
    }
    // Units: their files are among the paths above; what they ask of systemd is said here.
    for (const auto &[name, u] : prev.units)
        if (!plan.next.units.count(name)) out += "- unit " + printable(name) + "\n";
    for (const auto &[name, u] : plan.next.units) {
        auto it = prev.units.find(name);
        if (it == prev.units.end()) out += "+ unit " + printable(name) + "\n";
        else if (!same_unit(it->second, u) || it->second.dropins != u.dropins) out += "~ unit " + printable(name) + "\n";
    }
    for (const auto &c : plan.containers) out += describe(c, prev.containers, plan.next.containers) + "\n";
    return out;
}

} // namespace fjord
