#include "apply/transaction.hpp"

#include "apply/commands.hpp"
#include "apply/containers.hpp"
#include "apply/unit_steps.hpp"
#include "util/hash.hpp"
#include <algorithm>
#include <cstring>
#include <ctime>
#include <grp.h>
#include <map>
#include <optional>
#include <pwd.h>
#include <vector>

namespace fjord {
namespace {

// Originals of adopted files are kept whatever their size, within reason.
constexpr std::uint64_t max_original_size = 1ull << 30;


StatStamp to_stamp(const LiveStat &st) { return {st.ino, st.size, st.mtime_ns, st.ctime_ns}; }

// Content by id: rendered content of this apply, then fjord's own object store, then the Git
// cache (content stored before every generation kept its objects). What comes from the cache is
// stored, so the next reader does not need the cache.
Result<std::string> content(ApplyContext &ctx, const std::string &id, const DesiredState *desired) {
    if (desired) {
        auto it = desired->blobs.find(id);
        if (it != desired->blobs.end()) return it->second;
    }
    return stored_content(ctx.store, ctx.repo, id, max_original_size);
}

// A secret's plaintext: its ciphertext (stored, or from the Git cache), decrypted again for
// this write; the store never holds a secret's plaintext.
Result<std::string> secret_content(ApplyContext &ctx, const FileSpec &spec) {
    if (!ctx.decrypt) return fail(Errc::invalid, spec.origin + ": a secret, and no age identity to decrypt it");
    auto ciphertext = content(ctx, spec.id, nullptr);
    if (!ciphertext) return fail(ciphertext.error().context(spec.origin));
    return ctx.decrypt(*ciphertext, spec.origin);
}

// Before the journal: every file the plan writes has its content in the object store, so the
// transaction, its rollback and every later recovery, rollback or drift correction never need
// the Git cache. Written without fsync; sync_objects() makes them durable before `current`
// moves (recovery before that point restores the previous generation, whose objects are).
Status store_content(ApplyContext &ctx, const Plan &plan, const DesiredState &desired) {
    for (const auto &a : plan.actions) {
        if (a.kind != ActionKind::write) continue;
        const FileSpec &spec = plan.next.files.at(a.path).spec;
        if (spec.kind != FileKind::file) continue;
        if (auto it = desired.blobs.find(spec.id); it != desired.blobs.end()) {
            FJORD_TRY(ctx.store.put_object(spec.id, it->second, false));
            continue;
        }
        if (ctx.store.has_object(spec.id)) continue;
        if (!ctx.repo) return fail(Errc::not_found, spec.path + ": content " + spec.id + " is not in fjord's object store");
        auto data = ctx.repo->read_blob(spec.id, max_original_size);
        if (!data) return fail(data.error().context(spec.origin.empty() ? spec.path : spec.origin));
        FJORD_TRY(ctx.store.put_object(spec.id, *data, false));
    }
    return {};
}

// Writes one spec onto the host; returns its stat for files.
Result<std::optional<LiveStat>> put(ApplyContext &ctx, const FileSpec &spec, const DesiredState *desired) {
    auto owner = resolve_owner(spec.owner, spec.group);
    if (!owner) return fail(owner.error().context(spec.path));
    if (spec.kind == FileKind::symlink) {
        FJORD_TRY(ctx.fs.write_symlink(spec.path, spec.target, owner->first, owner->second));
        return std::optional<LiveStat>{};
    }
    auto data = spec.secret ? secret_content(ctx, spec) : content(ctx, spec.id, desired);
    if (!data) return fail(data.error().context(spec.path));
    auto st = ctx.fs.write_file(spec.path, *data, spec.mode, owner->first, owner->second);
    // sodium_memzero's guarantee (never optimised away), without libsodium in this layer.
    if (spec.secret) explicit_bzero(data->data(), data->size());
    if (!st) return fail(std::move(st.error()));
    return std::optional<LiveStat>{*st};
}

Status put_original(ApplyContext &ctx, const std::string &path, const Original &o) {
    if (o.kind == FileKind::symlink) return ctx.fs.write_symlink(path, o.target, o.uid, o.gid);
    auto data = ctx.store.get_object(o.id, max_original_size);
    if (!data) return fail(data.error().context(path + ": original"));
    if (o.sealed) {
        if (!ctx.decrypt) return fail(Errc::invalid, path + ": the original is kept sealed, and no age identity opens it");
        auto plain = ctx.decrypt(*data, path + " (original)");
        if (!plain) return fail(std::move(plain.error()));
        *data = std::move(*plain);
    }
    auto st = ctx.fs.write_file(path, *data, o.mode, o.uid, o.gid);
    if (o.sealed) explicit_bzero(data->data(), data->size());
    if (!st) return fail(std::move(st.error()));
    return {};
}

// Keeps what a path held before fjord first writes it, so that it can come back.
Status adopt(ApplyContext &ctx, const std::string &path, Original &orig, bool secret) {
    auto st = ctx.fs.stat(path);
    if (!st) return fail(std::move(st.error()));
    orig = Original{};
    if (st->kind == LiveKind::absent) return {};
    orig.existed = true;
    orig.mode = st->mode;
    orig.uid = st->uid;
    orig.gid = st->gid;
    if (st->kind == LiveKind::symlink) {
        orig.kind = FileKind::symlink;
        auto t = ctx.fs.read_link(path);
        if (!t) return fail(std::move(t.error()));
        orig.target = *t;
        return {};
    }
    if (st->kind != LiveKind::file) return fail(Errc::refused, path + ": not a regular file or symlink on the host");
    auto data = ctx.fs.read_file(path, max_original_size);
    if (!data) return fail(std::move(data.error()));
    orig.kind = FileKind::file;
    if (secret) {
        // Likely the secret's earlier plaintext: the store keeps it only sealed to this host.
        auto sealed = ctx.seal ? ctx.seal(*data) : Result<std::string>(fail(Errc::invalid, "no age identity"));
        explicit_bzero(data->data(), data->size());
        if (!sealed) return fail(sealed.error().context(path + ": keep the original sealed"));
        orig.sealed = true;
        orig.id = blob_id(*sealed);
        return ctx.store.put_object(orig.id, *sealed);
    }
    orig.id = blob_id(*data);
    return ctx.store.put_object(orig.id, *data);
}

// Runs the plan's actions; stamps collect the stat of each written file.
Status run_actions(ApplyContext &ctx, const Generation &prev, const Plan &plan, const DesiredState &desired,
                   ApplyReport &report) {
    for (const auto &a : plan.actions) {
        switch (a.kind) {
        case ActionKind::remove:
            FJORD_TRY(ctx.fs.remove(a.path));
            ++report.removed;
            break;
        case ActionKind::restore:
            FJORD_TRY(put_original(ctx, a.path, prev.files.at(a.path).orig));
            ++report.restored;
            break;
        case ActionKind::rmdir: {
            auto r = ctx.fs.remove_dir_if_empty(a.path);
            if (!r) return fail(std::move(r.error()));
            break;
        }
        case ActionKind::mkdir:
            FJORD_TRY(ctx.fs.make_dir(a.path));
            break;
        case ActionKind::write: {
            auto st = put(ctx, plan.next.files.at(a.path).spec, &desired);
            if (!st) return fail(std::move(st.error()));
            if (*st) report.stamps[a.path] = to_stamp(**st);
            ++report.written;
            break;
        }
        }
    }
    return ctx.fs.sync();
}

// Puts one path back as generation `from` had it (see recover()).
Status recover_path(ApplyContext &ctx, const Generation &from, const Generation &to, const std::string &path,
                    std::vector<std::string> &made_dirs) {
    FJORD_TRY(ctx.fs.remove_temp(path));
    if (auto it = from.files.find(path); it != from.files.end()) {
        auto st = put(ctx, it->second.spec, nullptr);
        if (!st) return fail(std::move(st.error()));
    } else if (from.dirs.count(path)) {
        FJORD_TRY(ctx.fs.make_dir(path));
    } else if (auto t = to.files.find(path); t != to.files.end()) {
        if (t->second.orig.existed) FJORD_TRY(put_original(ctx, path, t->second.orig));
        else FJORD_TRY(ctx.fs.remove(path));
    } else if (to.dirs.count(path)) {
        made_dirs.push_back(path);
    }
    // Otherwise: a folder this transaction removed that generation `from` did not own — an
    // empty folder fjord made; the paths written into it bring it back where needed.
    return {};
}

} // namespace

Result<std::string> stored_content(Store &store, const BlobReader *repo, const std::string &id, std::uint64_t max) {
    std::string why;
    if (store.has_object(id)) {
        auto o = store.get_object(id, max);
        if (o) return o;
        why = o.error().message + "; ";
    }
    if (!repo) return fail(Errc::not_found, why + "content " + id + " is not in fjord's object store");
    auto r = repo->read_blob(id, max);
    if (!r) return fail(Errc::not_found, why + "content " + id + " is neither in fjord's object store nor in the Git cache (" +
                                             r.error().message + ")");
    (void)store.put_object(id, *r, false); // best effort: the caller does not depend on it
    return r;
}

Result<std::pair<uid_t, gid_t>> resolve_owner(const std::string &owner, const std::string &group) {
    // A small cache: a 10,000-file host names a handful of owners.
    static std::map<std::string, uid_t> users;
    static std::map<std::string, gid_t> groups;
    auto u = users.find(owner);
    if (u == users.end()) {
        char buf[4096];
        struct passwd pw, *res = nullptr;
        if (::getpwnam_r(owner.c_str(), &pw, buf, sizeof buf, &res) != 0 || !res)
            return fail(Errc::invalid, "owner \"" + owner + "\": no such user on this host");
        u = users.emplace(owner, pw.pw_uid).first;
    }
    auto g = groups.find(group);
    if (g == groups.end()) {
        char buf[4096];
        struct group gr, *res = nullptr;
        if (::getgrnam_r(group.c_str(), &gr, buf, sizeof buf, &res) != 0 || !res)
            return fail(Errc::invalid, "group \"" + group + "\": no such group on this host");
        g = groups.emplace(group, gr.gr_gid).first;
    }
    return std::pair{u->second, g->second};
}

Result<ApplyReport> apply_plan(ApplyContext &ctx, const Generation &prev, Plan &plan, const DesiredState &desired,
                               const std::function<Status()> &verify) {
    ctx.fs.forget();
    Generation &next = plan.next;
    ApplyReport report;
    report.generation = next.info.number;

    // Everything that can fail without touching the host fails here: owners, content, originals.
    for (const auto &a : plan.actions) {
        if (a.kind != ActionKind::write) continue;
        const FileSpec &spec = next.files.at(a.path).spec;
        auto o = resolve_owner(spec.owner, spec.group);
        if (!o) return fail(o.error().context(spec.origin.empty() ? a.path : spec.origin));
    }
    FJORD_TRY(store_content(ctx, plan, desired));
    for (const auto &a : plan.actions) {
        if (a.kind == ActionKind::restore && !ctx.store.has_object(prev.files.at(a.path).orig.id) &&
            prev.files.at(a.path).orig.kind == FileKind::file)
            return fail(Errc::not_found, a.path + ": its original " + prev.files.at(a.path).orig.id +
                                             " is missing from fjord's object store; nothing was changed");
        if (a.kind != ActionKind::write) continue;
        auto af = next.files.at(a.path);
        if (af.spec.kind != FileKind::file || !a.adopt) continue;
        FJORD_TRY(adopt(ctx, a.path, af.orig, af.spec.secret));
        next.files.insert_or_assign(a.path, af);
    }
    for (const auto &a : plan.actions) {
        if (a.kind != ActionKind::write || !a.adopt) continue;
        auto af = next.files.at(a.path);
        if (af.spec.kind != FileKind::symlink) continue;
        FJORD_TRY(adopt(ctx, a.path, af.orig, false));
        next.files.insert_or_assign(a.path, af);
    }

    // Images are pulled and pinned by digest before the journal: a failed pull changes nothing.
    // Only a plan that changes containers asks podman: files and units of a host whose
    // containers stay as they are do not depend on podman being up.
    bool containers = !plan.containers.empty();
    if (containers) {
        if (!ctx.podman) return fail(Errc::invalid, "containers: no podman to run them");
        FJORD_TRY(prepare_containers(*ctx.podman, next.containers));
        // History shows what changed, with the digests just pinned.
        for (const auto &c : plan.containers)
            next.info.message += (next.info.message.empty() ? "" : "; ") + describe(c, prev.containers, next.containers);
        report.containers = plan.containers.size();
    }

    next.info.time = std::time(nullptr);
    next.info.outcome = Outcome::pending;
    FJORD_TRY(ctx.store.save(next));

    Journal j{prev.info.number, next.info.number, "apply", {}};
    j.paths.reserve(plan.actions.size());
    for (const auto &a : plan.actions) j.paths.push_back(a.path);
    FJORD_TRY(ctx.store.write_journal(j));

    const UnitPlan units = ctx.systemd ? plan.units : UnitPlan{};

    // Units Git dropped stop before their files go; the rest follows the files.
    Status done = ctx.systemd ? run_unit_steps(*ctx.systemd, units.before) : Status{};
    if (done) done = run_actions(ctx, prev, plan, desired, report);
    if (done && ctx.systemd && units.reload_daemon) done = ctx.systemd->reload_daemon();
    // The new files are in place and the running daemons still have the old config: a
    // pre_restart failure rolls back before any of them is restarted with it.
    if (done && ctx.systemd) done = run_pre_restart(next, units.after, ctx.fs.root());
    bool units_ran = done.has_value();
    if (done && ctx.systemd) done = run_unit_steps(*ctx.systemd, units.after);
    // Containers last: they may mount files and talk to units this generation brings.
    if (done && containers) done = converge_containers(*ctx.podman, next.containers, prev.containers, ctx.fs.root());
    if (done && verify) done = verify();
    if (!done) {
        Error err = done.error();
        next.info.outcome = Outcome::rolled_back;
        next.info.message = err.message;
        (void)ctx.store.save_info(next.info); // best effort: recovery below records the outcome anyway
        if (auto r = recover(ctx, j, units_ran); !r) return fail(r.error().context("roll back after: " + err.message));
        return fail(std::move(err));
    }
    // The new generation's content must outlive the Git cache before it becomes `current`.
    if (auto s = ctx.store.sync_objects(); !s) {
        next.info.outcome = Outcome::rolled_back;
        next.info.message = s.error().message;
        (void)ctx.store.save_info(next.info);
        if (auto r = recover(ctx, j, units_ran); !r) return fail(r.error().context("roll back after: " + s.error().message));
        return fail(s.error());
    }
    next.info.outcome = Outcome::good;
    FJORD_TRY(ctx.store.save_info(next.info));
    FJORD_TRY(ctx.store.set_current(next.info.number));
    FJORD_TRY(ctx.store.remove_journal());
    return report;
}

Status recover(ApplyContext &ctx, const Journal &j, bool units_ran, std::vector<std::string> *left_alone) {
    auto cur = ctx.store.current();
    if (!cur) return fail(std::move(cur.error()));
    if (*cur == j.to && j.to != j.from) return ctx.store.remove_journal(); // committed just before the crash

    auto from = ctx.store.load(j.from);
    if (!from) return fail(from.error().context("recover to generation " + std::to_string(j.from)));
    Generation to;
    bool to_known = true;
    if (j.to != j.from) {
        auto t = ctx.store.load(j.to);
        if (!t) t = ctx.store.load_files(j.to); // its header damaged: its files still tell
        // Without generation j.to's record, what it made cannot be told from what it adopted:
        // only paths generation j.from holds are put back; the rest is left, never deleted.
        if (t) to = std::move(*t);
        else to_known = false;
    }
    ctx.fs.forget();
    std::vector<std::string> made_dirs;
    std::optional<Error> first;
    std::size_t failed = 0;
    for (const auto &path : j.paths) {
        if (!to_known && !from->files.count(path) && !from->dirs.count(path)) {
            // The path is left, but not fjord's own temp file beside it (a write the crash cut
            // short): that was never the host's.
            if (auto t = ctx.fs.remove_temp(path); !t && t.error().code != Errc::refused) {
                if (!first) first = t.error();
                ++failed;
                continue;
            }
            if (left_alone) left_alone->push_back(path);
            continue;
        }
        auto st = recover_path(ctx, *from, to, path, made_dirs);
        // A path behind a symlinked folder, or taken by a folder on the host, cannot hold
        // anything fjord wrote (fjord never writes through or over one): nothing to undo there.
        if (st || st.error().code == Errc::refused) continue;
        // Content lost from the object store and the Git cache alike: the path keeps the whole
        // file it holds (every write is tmp + rename), and is named. Retrying cannot bring the
        // content back, and a recovery that never ends would stop every later apply.
        if (st.error().code == Errc::not_found) {
            if (left_alone) left_alone->push_back(path);
            continue;
        }
        // Every other path is still put back; the journal stays so the next start retries.
        if (!first) first = st.error();
        ++failed;
    }
    // Folders this transaction made go when empty, deepest first (a folder sorts before what is
    // in it). Also when a path failed above: that path must not keep the whole chain of empty
    // folders above a new deep file on the host until it can be put back.
    std::sort(made_dirs.begin(), made_dirs.end());
    for (auto it = made_dirs.rbegin(); it != made_dirs.rend(); ++it) {
        auto r = ctx.fs.remove_dir_if_empty(*it);
        if (r || r.error().code == Errc::refused) continue; // as above: behind a symlink, not fjord's
        if (!first) first = r.error();
        ++failed;
    }
    if (first) {
        (void)ctx.fs.sync();
        return fail(first->context("recover " + std::to_string(failed) + " of " + std::to_string(j.paths.size()) +
                                   " paths (the journal is kept; recovery is retried at the next start)"));
    }
    FJORD_TRY(ctx.fs.sync());
    if (ctx.systemd && j.to != j.from && (!from->units.empty() || !to.units.empty())) {
        // systemd follows the files back: units the failed generation added stop, units whose
        // files came back restart. Best effort: the files are what recovery guarantees, and
        // the next apply converges the units again.
        std::set<std::string> changed(j.paths.begin(), j.paths.end());
        // Converged: whatever the failed generation did to a unit (stopped it, left it failed),
        // the restored generation's units run as it asks.
        UnitPlan back = plan_units(to, *from, changed, true);
        // Units never restarted with the new files run the old ones still: a restart now
        // would only interrupt them.
        if (!units_ran)
            std::erase_if(back.after, [](const UnitStep &s) { return s.kind == UnitStep::restart || s.kind == UnitStep::reload; });
        Status s = run_unit_steps(*ctx.systemd, back.before);
        if (s && back.reload_daemon) s = ctx.systemd->reload_daemon();
        if (s) (void)run_unit_steps(*ctx.systemd, back.after);
    }
    if (j.to != j.from && from->containers != to.containers) {
        // Unlike units, containers are part of what recovery guarantees: the previous
        // generation's containers come back from their specs and pinned images.
        Status s = ctx.podman ? converge_containers(*ctx.podman, from->containers, to.containers, ctx.fs.root())
                              : Status(fail(Errc::invalid, "no podman to run them"));
        if (!s) return fail(s.error().context("recover containers (the journal is kept; recovery is retried at the next start)"));
    }
    if (j.to != j.from && to_known) {
        to.info.outcome = Outcome::rolled_back;
        if (to.info.message.empty()) to.info.message = "interrupted; rolled back at start-up";
        FJORD_TRY(ctx.store.save_info(to.info));
    }
    return ctx.store.remove_journal();
}

Result<StampMap> restore_paths(ApplyContext &ctx, const Generation &gen, const std::vector<std::string> &paths) {
    ctx.fs.forget();
    Journal j{gen.info.number, gen.info.number, "drift", paths};
    FJORD_TRY(ctx.store.write_journal(j));
    StampMap stamps;
    for (const auto &path : paths) {
        auto st = put(ctx, gen.files.at(path).spec, nullptr);
        if (!st) {
            Error err = st.error();
            if (auto r = recover(ctx, j); !r) return fail(r.error().context("undo after: " + err.message));
            return fail(std::move(err));
        }
        if (*st) stamps[path] = to_stamp(**st);
    }
    FJORD_TRY(ctx.fs.sync());
    FJORD_TRY(ctx.store.remove_journal());
    return stamps;
}

} // namespace fjord
