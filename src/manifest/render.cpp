#include "manifest/render.hpp"

#include "manifest/units.hpp"

#include "manifest/file_patches.hpp"
#include "manifest/manifest_toml.hpp"
#include "manifest/template.hpp"
#include "manifest/validate.hpp"
#include "util/hash.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

namespace fjord {
namespace {

constexpr int max_include_depth = 8;
constexpr std::uint64_t max_link_target = 4095; // PATH_MAX less its NUL: longer targets cannot be made
// All templates of one render together produce at most 64 MiB, counted as they render: each
// template was bounded alone by apply.max_file_size, but 20 of them expanding a 1 MiB var 60
// times took the render child to 1.2 GB. The rendered content travels back from the render
// child in its answer, capped at 64 MiB plus 2 KiB per apply.max_files (sandbox/isolated.cpp),
// so this is the fixed part of that cap; it is a thousand 64 KiB config files.
constexpr std::uint64_t max_rendered_total = 64ull << 20;

std::string join(const std::string &dir, std::string_view name) {
    return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

/// A repo folder as messages show it: the root is ".".
std::string shown(const std::string &folder) { return folder.empty() ? "." : folder; }

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status check_name(const std::string &dir, const std::string &name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos)
        return fail(Errc::invalid, join(dir, printable(name)) + ": not a valid file name");
    if (name.find_first_of("\n\r") != std::string::npos)
        return fail(Errc::invalid, join(dir, printable(name)) + ": names with line breaks are refused");
    return {};
}

/// Joins an include path onto the folder of its manifest, lexically, refusing to leave the repo.
Result<std::string> resolve_include(const std::string &base, std::string_view inc) {
    if (inc.front() == '/') return fail(Errc::invalid, "absolute; includes are relative to their fjord.toml's folder");
    std::vector<std::string> parts;
    for (std::size_t i = 0, j; i <= base.size() && !base.empty(); i = j + 1) {
        j = std::min(base.find('/', i), base.size());
        parts.emplace_back(base.substr(i, j - i));
    }
    for (std::size_t i = 0, j; i <= inc.size(); i = j + 1) {
        j = std::min(inc.find('/', i), inc.size());
        std::string_view seg = inc.substr(i, j - i);
        if (seg.empty() || seg == ".") continue;
        if (seg.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos)
            return fail(Errc::invalid, "control characters in the path");
        if (seg != "..") parts.emplace_back(seg);
        else if (parts.empty()) return fail(Errc::invalid, "leaves the repo");
        else parts.pop_back();
    }
    std::string out;
    for (const auto &p : parts) out = join(out, p);
    return out;
}

/// The host name of a files/ entry: NAME.age (a secret) and NAME.tmpl (a template) give NAME.
std::string_view host_name(const TreeEntry &e) {
    if (e.kind != EntryKind::file) return e.name;
    for (std::string_view suffix : {".age", ".tmpl"})
        if (e.name.size() > suffix.size() && ends_with(e.name, suffix)) return std::string_view(e.name).substr(0, e.name.size() - suffix.size());
    return e.name;
}

/// Adds to `out` the host path of every entry below folder `dir` that differs between trees
/// `a` and `b` (either may lack the folder). Folders with the same tree id are not opened, so
/// this costs what changed, not what there is.
Status diff_files(const TreeView &a, const TreeView &b, const std::string &dir, bool in_a, bool in_b,
                  const std::string &host_dir, std::set<std::string> &out) {
    auto listing = [&](const TreeView &t, bool in) -> Result<std::map<std::string, TreeEntry>> {
        std::map<std::string, TreeEntry> m;
        if (!in) return m;
        auto l = t.list(dir);
        if (!l && l.error().code == Errc::not_found) return m;
        if (!l) return fail(std::move(l.error()).context(shown(dir)));
        for (auto &e : *l) m.emplace(e.name, std::move(e));
        return m;
    };
    auto la = listing(a, in_a);
    if (!la) return fail(la.error());
    auto lb = listing(b, in_b);
    if (!lb) return fail(lb.error());
    auto side = [&](const std::map<std::string, TreeEntry> &m, const std::string &name) -> const TreeEntry * {
        auto it = m.find(name);
        return it == m.end() ? nullptr : &it->second;
    };
    std::set<std::string> names;
    for (const auto &[n, e] : *la) names.insert(n);
    for (const auto &[n, e] : *lb) names.insert(n);
    for (const auto &name : names) {
        const TreeEntry *ea = side(*la, name), *eb = side(*lb, name);
        if (ea && eb && ea->kind == eb->kind && ea->id == eb->id && ea->executable == eb->executable) continue;
        bool dir_a = ea && ea->kind == EntryKind::dir, dir_b = eb && eb->kind == EntryKind::dir;
        if (dir_a || dir_b) FJORD_TRY(diff_files(a, b, join(dir, name), dir_a, dir_b, host_dir + "/" + name, out));
        for (const TreeEntry *e : {ea, eb})
            if (e && e->kind != EntryKind::dir) out.insert(host_dir + "/" + std::string(host_name(*e)));
    }
    return {};
}

/// One folder of the include chain: its listing and its manifest.
struct Folder {
    std::string path; ///< repo path, "" = the root
    std::vector<TreeEntry> entries;
    Manifest manifest;

    const TreeEntry *entry(std::string_view name) const {
        for (const auto &e : entries)
            if (e.name == name) return &e;
        return nullptr;
    }
};

/// A file of some files/ before the merge: what merging needs, without reading content.
struct Candidate {
    std::string origin;
    EntryKind kind = EntryKind::file;
    std::string id;
    bool executable = false;
    bool tmpl = false;
    bool secret = false; ///< NAME.age: decrypted at render, written as NAME
};

class Renderer {
  public:
    Renderer(const TreeView &tree, const RenderOptions &opts, const TreeView *base = nullptr)
        : tree_(tree), opts_(opts), base_(base) {}
    Result<DesiredState> run();

  private:
    /// With a base tree whose include chain and manifests are this tree's: the host paths that
    /// differ (or are templates, rendered again every time); false when a whole render is due.
    Result<bool> find_changes(const std::string &host);
    /// Partial renders: true when host path `host` (a file) or something below it (a folder) changed.
    bool wanted(const std::string &host, bool folder) const;
    Result<std::vector<TreeEntry>> list(const std::string &dir) const;
    Status check_size(const std::string &origin, const std::string &id) const;
    Status expand(const std::string &folder, int depth, const std::string &via);
    Status walk_files(const Folder &f, std::map<std::string, Candidate> &out) const;
    Status collect_units(const Folder &f, DesiredState &ds);
    Status collect_containers(const Folder &f, DesiredState &ds);
    Result<FileSpec> build(const std::string &path, const Candidate &c, const FilePatch *patch, DesiredState &ds);
    /// Renders template blob `id`, keeps the result in ds.blobs and returns its id.
    Result<std::string> render_tmpl(const std::string &id, const std::string &origin, DesiredState &ds);

    const TreeView &tree_;
    const RenderOptions &opts_;
    const TreeView *base_ = nullptr;
    bool partial_ = false;
    std::set<std::string> changed_; ///< partial renders: the host paths walked
    std::vector<Folder> folders_;    ///< in merge order, the host last
    std::vector<std::string> stack_; ///< includes being expanded, to name a cycle
    std::set<std::string> done_;
    VarTable facts_;
    std::unique_ptr<TemplateValues> values_; ///< made at the first template, once [vars] are merged
    RenderBudget rendered_{max_rendered_total, 0};
    std::size_t vars_ = 0; ///< values in the facts, the overrides and the [vars] of every folder so far
    /// With RenderOptions::template_errors: every error found, and the first of them, with
    /// which the render fails at its end. An apply never collects (it stops at the first).
    Diagnostics all_;
    std::optional<Error> first_error_;
    Diagnostics *collecting() { return opts_.template_errors ? &all_ : nullptr; }
    /// Notes that errors were added to all_ (`first` the first of them).
    void noted(const Error &first) {
        if (!first_error_) first_error_ = first;
    }

    /// An error about `file` that need not stop a render that collects (it goes to all_ and
    /// success is returned); without collecting, the error itself.
    Status keep(const std::string &file, Status s) {
        if (s || !collecting()) return s;
        all_.add(file, s.error());
        noted(s.error());
        return {};
    }
    /// Notes that errors of file `origin` were added to all_.
    void noted_in(const std::string &origin) {
        const Error *e = all_.first_of(origin);
        noted(e ? *e : Error{Errc::invalid, origin + ": errors past the limit of those reported"});
    }

  public:
    /// With RenderOptions::template_errors: hands every error found to it, `end` (how the
    /// render ended) included when it is not among them.
    void report(const Result<DesiredState> &end);
    /// Unit files and drop-ins that are templates, by (unit, drop-in file or ""): origin, blob id.
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> unit_templates_;
};

Result<std::vector<TreeEntry>> Renderer::list(const std::string &dir) const {
    auto entries = tree_.list(dir);
    if (!entries) return fail(std::move(entries.error()).context(shown(dir)));
    // Sorted, so the first error reported does not depend on the TreeView's order.
    std::sort(entries->begin(), entries->end(), [](const auto &a, const auto &b) { return a.name < b.name; });
    return entries;
}

Status Renderer::check_size(const std::string &origin, const std::string &id) const {
    auto size = tree_.blob_size(id);
    if (!size) return fail(std::move(size.error()).context(origin));
    if (*size > opts_.max_file_size)
        return fail(Errc::refused, origin + ": " + std::to_string(*size) + " bytes, larger than apply.max_file_size (" +
                                       std::to_string(opts_.max_file_size) + " bytes)");
    return {};
}

Status Renderer::expand(const std::string &folder, int depth, const std::string &via) {
    if (auto it = std::find(stack_.begin(), stack_.end(), folder); it != stack_.end()) {
        std::string chain;
        for (; it != stack_.end(); ++it) chain += shown(*it) + " -> ";
        return fail(Errc::invalid, via + ": include cycle: " + chain + shown(folder));
    }
    // A folder reached twice without a cycle (base included by both web and the host) merges
    // once, at its first place, so the host still comes last.
    if (done_.count(folder)) return {};
    if (depth > max_include_depth)
        return fail(Errc::invalid, via + ": includes nest deeper than " + std::to_string(max_include_depth) + " folders");

    auto entries = list(folder);
    if (!entries && entries.error().code == Errc::not_found) {
        if (depth > 0) return fail(Errc::invalid, via + ": no folder " + shown(folder) + " in the repo");
        std::string at = tree_.commit().empty() ? "" : " at commit " + tree_.commit();
        return fail(Errc::not_found, "host folder " + shown(folder) + " is not in the repo" + at + " (source.path)");
    }
    if (!entries) return fail(entries.error());
    Folder f{folder, std::move(*entries), {}};

    if (const TreeEntry *m = f.entry("fjord.toml")) {
        std::string origin = join(folder, "fjord.toml");
        if (m->kind != EntryKind::file) return fail(Errc::invalid, origin + ": not a regular file");
        FJORD_TRY(check_size(origin, m->id));
        auto text = tree_.read_blob(m->id, opts_.max_file_size);
        if (!text) return fail(std::move(text.error()).context(origin));
        std::size_t before = all_.count();
        auto manifest = parse_manifest(*text, origin, collecting());
        if (!manifest) return fail(manifest.error());
        // Collecting: its errors are noted, and the rest of the render looks for more.
        if (all_.count() > before) noted_in(origin);
        // Counted as each folder is read, so a bundle bomb stops before the next one is parsed.
        vars_ += count_vars(manifest->vars);
        if (vars_ > max_vars)
            return fail(Errc::invalid, origin + ": [vars]: " + std::to_string(vars_) +
                                           " values with those of the folders read before and the host facts, more than " +
                                           std::to_string(max_vars) + " (the limit for templates)");
        f.manifest = std::move(*manifest);
    }

    stack_.push_back(folder);
    for (const auto &inc : f.manifest.includes) {
        std::string what = inc.where + ": include \"" + printable(inc.path) + "\"";
        auto child = resolve_include(folder, inc.path);
        if (!child) return fail(std::move(child.error()).context(what));
        FJORD_TRY(expand(*child, depth + 1, what));
    }
    stack_.pop_back();
    done_.insert(folder);
    folders_.push_back(std::move(f));
    return {};
}

Status Renderer::walk_files(const Folder &f, std::map<std::string, Candidate> &out) const {
    const TreeEntry *top = f.entry("files");
    if (!top) return {};
    std::string root = join(f.path, "files");
    if (top->kind != EntryKind::dir) return fail(Errc::invalid, root + ": not a folder");

    std::uint64_t count = 0;
    std::vector<std::pair<std::string, std::string>> todo{{root, ""}}; // repo folder, host path
    while (!todo.empty()) {
        auto [dir, host_dir] = std::move(todo.back());
        todo.pop_back();
        auto entries = list(dir);
        if (!entries) return fail(entries.error());
        for (const auto &e : *entries) {
            FJORD_TRY(check_name(dir, e.name));
            std::string origin = join(dir, e.name);
            std::string host = host_dir + "/" + e.name;
            if (partial_ && !wanted(host_dir + "/" + std::string(host_name(e)), e.kind == EntryKind::dir)) continue;
            switch (e.kind) {
            case EntryKind::dir: todo.emplace_back(origin, host); continue;
            case EntryKind::submodule: return fail(Errc::invalid, origin + ": submodules are refused");
            case EntryKind::other: return fail(Errc::invalid, origin + ": not a regular file or symlink");
            case EntryKind::file: case EntryKind::symlink: break;
            }
            // Past the limit keep counting, to report the real number, but record nothing more.
            if (++count > opts_.max_files) continue;
            Candidate c{origin, e.kind, e.id, e.executable, false};
            if (e.kind == EntryKind::file) {
                if (ends_with(e.name, ".age")) {
                    if (e.name == ".age") return fail(Errc::invalid, origin + ": a secret needs a name before .age");
                    host.resize(host.size() - 4);
                    c.secret = true;
                }
                if (ends_with(e.name, ".tmpl")) {
                    if (e.name == ".tmpl") return fail(Errc::invalid, origin + ": a template needs a name before .tmpl");
                    host.resize(host.size() - 5);
                    c.tmpl = true;
                }
                // Content already applied at this path passed the size limit then; only the
                // limit itself may have shrunk, which the caller's vetted() accounts for.
                if (!(opts_.vetted && opts_.vetted(host, e.id))) FJORD_TRY(check_size(origin, e.id));
            }
            auto [it, fresh] = out.emplace(host, c);
            if (!fresh)
                return fail(Errc::invalid, origin + ": gives " + host + ", which " + it->second.origin + " gives too");
        }
    }
    if (count > opts_.max_files && !partial_) // partial: complete_partial counts them all
        return fail(Errc::refused, root + ": " + std::to_string(count) + " files, more than apply.max_files (" +
                                       std::to_string(opts_.max_files) + ")");
    return {};
}

Status Renderer::collect_units(const Folder &f, DesiredState &ds) {
    const TreeEntry *top = f.entry("units");
    if (!top) return {};
    std::string dir = join(f.path, "units");
    if (top->kind != EntryKind::dir) return fail(Errc::invalid, dir + ": not a folder");
    auto entries = list(dir);
    if (!entries) return fail(entries.error());
    auto unit = [&](const std::string &name) -> UnitSpec & {
        auto &u = ds.units[name];
        u.name = name;
        return u;
    };
    for (const auto &e : *entries) {
        FJORD_TRY(check_name(dir, e.name));
        std::string origin = join(dir, e.name);
        if (e.kind == EntryKind::file) {
            bool tmpl = ends_with(e.name, ".tmpl");
            std::string name = tmpl ? e.name.substr(0, e.name.size() - 5) : e.name;
            if (!valid_unit_name(name))
                return fail(Errc::invalid, origin + ": not a systemd unit name (e.g. nginx.service, or nginx.service.tmpl)");
            FJORD_TRY(check_size(origin, e.id));
            auto &u = unit(name);
            if (u.origin.rfind(dir + "/", 0) == 0)
                return fail(Errc::invalid, origin + ": gives unit " + name + ", which " + u.origin + " gives too");
            u.id = e.id;
            u.origin = origin;
            if (tmpl) unit_templates_[{name, ""}] = {origin, e.id};
            else unit_templates_.erase({name, ""});
        } else if (e.kind == EntryKind::dir && ends_with(e.name, ".d") &&
                   valid_unit_name(std::string_view(e.name).substr(0, e.name.size() - 2))) {
            auto dropins = list(origin);
            if (!dropins) return fail(dropins.error());
            auto &u = unit(e.name.substr(0, e.name.size() - 2));
            for (const auto &d : *dropins) {
                FJORD_TRY(check_name(origin, d.name));
                std::string dorigin = join(origin, d.name);
                bool tmpl = ends_with(d.name, ".tmpl");
                std::string file = tmpl ? d.name.substr(0, d.name.size() - 5) : d.name;
                if (d.kind != EntryKind::file || !ends_with(file, ".conf") || file == ".conf")
                    return fail(Errc::invalid, dorigin + ": only NAME.conf (or NAME.conf.tmpl) drop-in files go in " + e.name + "/");
                FJORD_TRY(check_size(dorigin, d.id));
                if (tmpl && std::any_of(dropins->begin(), dropins->end(), [&](const auto &o) { return o.name == file; }))
                    return fail(Errc::invalid, dorigin + ": gives drop-in " + file + ", which " + join(origin, file) + " gives too");
                u.dropins[file] = d.id;
                if (tmpl) unit_templates_[{u.name, file}] = {dorigin, d.id};
                else unit_templates_.erase({u.name, file});
            }
        } else {
            return fail(Errc::invalid, origin + ": not a unit file or a NAME.d folder of drop-ins");
        }
    }
    return {};
}

Status Renderer::collect_containers(const Folder &f, DesiredState &ds) {
    std::map<std::string, std::string> here; // name -> origin, to refuse one folder defining one twice
    if (const TreeEntry *top = f.entry("containers")) {
        std::string dir = join(f.path, "containers");
        if (top->kind != EntryKind::dir) return fail(Errc::invalid, dir + ": not a folder");
        auto entries = list(dir);
        if (!entries) return fail(entries.error());
        for (const auto &e : *entries) {
            FJORD_TRY(check_name(dir, e.name));
            std::string origin = join(dir, e.name);
            std::string name = e.name.substr(0, e.name.size() - std::min<std::size_t>(5, e.name.size()));
            if (e.kind != EntryKind::file || !ends_with(e.name, ".toml") || !valid_container_name(name))
                return fail(Errc::invalid, origin + ": only NAME.toml files, one container each, go in containers/");
            FJORD_TRY(check_size(origin, e.id));
            auto text = tree_.read_blob(e.id, opts_.max_file_size);
            if (!text) return fail(std::move(text.error()).context(origin));
            std::size_t before = all_.count();
            auto spec = parse_container_file(*text, name, origin, collecting());
            if (!spec && collecting()) { // added to all_; the next file is read all the same
                noted(spec.error());
                continue;
            }
            if (!spec) return fail(spec.error());
            if (all_.count() > before) noted_in(origin);
            ds.containers[name] = std::move(*spec);
            here[name] = origin;
        }
    }
    for (const auto &[name, spec] : f.manifest.containers) {
        if (auto it = here.find(name); it != here.end())
            return fail(Errc::invalid, spec.origin + ": container." + name + ": also defined by " + it->second);
        ds.containers[name] = spec;
    }
    for (const auto &[name, spec] : ds.containers) FJORD_TRY(check_container_volumes(spec, opts_.protect, opts_.own));
    return {};
}

void merge_unit(UnitSpec &u, const UnitPatch &p) {
    if (p.enable) u.enable = *p.enable;
    if (p.state) u.state = *p.state;
    if (p.on_change) u.on_change = *p.on_change;
    if (p.memory) u.memory = *p.memory;
    if (p.cpu) u.cpu = *p.cpu;
    if (p.watch) u.watch = *p.watch;
    if (p.pre_restart) u.pre_restart = *p.pre_restart;
}

Result<std::string> Renderer::render_tmpl(const std::string &id, const std::string &origin, DesiredState &ds) {
    if (!values_) {
        VarTable root = ds.vars;
        for (const auto &[k, v] : facts_) root[k] = v;
        values_ = std::make_unique<TemplateValues>(root);
    }
    auto text = tree_.read_blob(id, opts_.max_file_size);
    if (!text) return fail(std::move(text.error()).context(origin));
    auto rendered = render_template(*text, *values_, origin, opts_.max_file_size, opts_.facts_used, &rendered_, collecting());
    if (!rendered && collecting()) { // all its errors are in all_
        noted(rendered.error());
        return id; // a stand-in: this render fails at its end
    }
    if (!rendered) return fail(rendered.error());
    std::string out = blob_id(*rendered);
    ds.blobs.emplace(out, std::move(*rendered));
    return out;
}

Result<FileSpec> Renderer::build(const std::string &path, const Candidate &c, const FilePatch *patch,
                                 DesiredState &ds) {
    FJORD_TRY(check_protect(path, c.origin, opts_.protect, opts_.own));
    FileSpec f;
    f.path = path;
    f.origin = c.origin;
    if (patch && patch->owner) f.owner = *patch->owner;
    if (patch && patch->group) f.group = *patch->group;

    if (c.kind == EntryKind::symlink) {
        if (patch && patch->mode) return fail(Errc::invalid, patch->where + ": mode: a symlink has no mode of its own");
        if (patch && patch->validate) return fail(Errc::invalid, patch->where + ": validate: applies to regular files only");
        auto target = tree_.read_blob(c.id, max_link_target);
        if (!target) return fail(std::move(target.error()).context(c.origin));
        FJORD_TRY(check_link(path, *target, c.origin));
        f.kind = FileKind::symlink;
        f.target = std::move(*target);
        f.mode = 0777; // what lstat shows for every link on Linux
        return f;
    }

    // Secrets default to owner-only; the manifest may widen that (a group-readable app.env).
    f.mode = c.secret ? (c.executable ? 0700 : 0600) : c.executable ? 0755 : 0644;
    if (patch && patch->mode) {
        if (*patch->mode & 07000)
            return fail(Errc::invalid, c.origin + ": setuid/setgid/sticky bits are refused (mode \"" + patch->mode_text +
                                           "\" at " + patch->mode_where + ")");
        f.mode = *patch->mode;
    }
    if (patch && patch->validate) f.validate = *patch->validate;
    if (c.secret) {
        // The generation keeps the ciphertext's id and apply decrypts again, so no plaintext is
        // stored. Decrypting here proves, before the host is touched, that every secret opens.
        f.id = c.id;
        f.secret = true;
        if (!opts_.decrypt) return f;
        auto ciphertext = tree_.read_blob(c.id, opts_.max_file_size);
        if (!ciphertext) return fail(std::move(ciphertext.error()).context(c.origin));
        auto plain = opts_.decrypt(*ciphertext, c.origin);
        if (!plain) return fail(plain.error());
        if (opts_.secret_digest) f.secret_mac = opts_.secret_digest(*plain);
        // sodium_memzero's guarantee (never optimised away) without libsodium in this layer.
        explicit_bzero(plain->data(), plain->size());
        return f;
    }
    if (!c.tmpl) {
        f.id = c.id;
        return f;
    }
    auto id = render_tmpl(c.id, c.origin, ds);
    if (!id) return fail(id.error());
    f.id = std::move(*id);
    return f;
}

Result<DesiredState> Renderer::run() {
    std::string host;
    if (!opts_.host_path.empty() && opts_.host_path != ".") {
        auto clean = clean_relative_path(opts_.host_path);
        if (!clean) return fail(std::move(clean.error()).context("source.path"));
        host = *clean;
    }
    vars_ = count_vars(opts_.facts) + count_vars(opts_.var_overrides);
    FJORD_TRY(expand(host, 0, shown(host)));
    if (base_) {
        auto partial = find_changes(host);
        if (!partial) return fail(partial.error());
        partial_ = *partial;
    }

    DesiredState ds;
    ds.commit = tree_.commit();
    facts_ = opts_.facts;
    if (!find_var(facts_, "fjord.commit")) set_var(facts_, "fjord.commit", VarValue::string(ds.commit));

    std::map<std::string, Candidate> merged;
    for (const auto &f : folders_) {
        ds.includes.push_back(shown(f.path));
        merge_vars(ds.vars, f.manifest.vars);
        std::map<std::string, Candidate> mine;
        FJORD_TRY(walk_files(f, mine));
        for (auto &[path, c] : mine) merged[path] = std::move(c);
        FJORD_TRY(collect_units(f, ds));
        FJORD_TRY(collect_containers(f, ds));
        for (const auto &[name, patch] : f.manifest.units) {
            auto &u = ds.units[name];
            u.name = name;
            merge_unit(u, patch);
        }
        ds.hooks.insert(ds.hooks.end(), f.manifest.hooks.begin(), f.manifest.hooks.end());
        // A check named like an earlier folder's replaces it where it stood: the host wins.
        for (const auto &c : f.manifest.checks) {
            auto it = std::find_if(ds.checks.begin(), ds.checks.end(), [&](const auto &o) { return o.name == c.name; });
            if (it != ds.checks.end()) *it = c;
            else ds.checks.push_back(c);
        }
    }

    // Unit files and drop-ins are written to the host too, so they count against the limit.
    std::uint64_t count = merged.size();
    for (const auto &[name, u] : ds.units) count += (u.id.empty() ? 0 : 1) + u.dropins.size();
    if (count > opts_.max_files && !partial_)
        return fail(Errc::refused, shown(host) + ": " + std::to_string(count) +
                                       " files with its includes, more than apply.max_files (" +
                                       std::to_string(opts_.max_files) + ")");

    merge_vars(ds.vars, opts_.var_overrides);
    // Unit files and drop-ins ending in .tmpl render like files, once every var is merged.
    for (const auto &[key, t] : unit_templates_) {
        auto id = render_tmpl(t.second, t.first, ds);
        if (!id) return fail(id.error());
        UnitSpec &u = ds.units.at(key.first);
        (key.second.empty() ? u.id : u.dropins.at(key.second)) = *id;
    }

    std::map<std::string, FilePatch> patches;
    std::vector<PatternPatch> patterns; // may match nothing: a bundle's pattern fits hosts without such files
    for (std::size_t i = 0; i < folders_.size(); ++i)
        for (const auto &[path, patch] : folders_[i].manifest.files) {
            if (is_file_pattern(path)) {
                patterns.push_back({path, i, patch});
                continue;
            }
            // A partial render saw only the paths that changed; the others were there before.
            if (!merged.count(path) && (!partial_ || changed_.count(path))) {
                FJORD_TRY(keep(join(folders_[i].path, "fjord.toml"),
                               fail(Errc::invalid, patch.where + ": no files/ of the merged folders provides " + path)));
                continue;
            }
            if (!merged.count(path)) continue;
            merge_patch(patches[path], patch);
        }
    for (const auto &[path, c] : merged) {
        auto p = patches.find(path);
        auto settled = settle_patch(path, c.kind == EntryKind::symlink, patterns, p == patches.end() ? nullptr : &p->second);
        if (!settled) {
            FJORD_TRY(keep(c.origin, fail(settled.error())));
            continue;
        }
        auto spec = build(path, c, &*settled, ds);
        if (!spec) {
            FJORD_TRY(keep(c.origin, fail(spec.error())));
            continue;
        }
        ds.files.emplace(path, std::move(*spec));
    }
    if (first_error_) return fail(*first_error_);
    FJORD_TRY(add_unit_files(tree_, ds, opts_.max_file_size));
    // A name the host cannot hold is the commit's fault: refused here, before the host is
    // touched, rather than failing the write halfway through a transaction.
    for (const auto &[path, f] : ds.files) FJORD_TRY(check_name_limits(path, f.origin));
    FJORD_TRY(check_parents(ds.files));
    FJORD_TRY(check_link_chains(ds.files));
    if (partial_) {
        ds.partial = true;
        ds.touched = std::move(changed_);
    }
    return ds;
}

Result<bool> Renderer::find_changes(const std::string &host) {
    // The base's include chain and manifests: read again (they are small), so that a render
    // is partial only when every fjord.toml of the chain is the same blob in both commits.
    // Then vars, [file] tables, units, containers, checks and hooks are what they were, or
    // are collected whole below (units, containers: a few files), and only files/ can differ.
    Renderer old(*base_, opts_);
    if (!old.expand(host, 0, shown(host))) return false; // the base does not render: a whole render says why
    if (old.folders_.size() != folders_.size()) return false;
    for (std::size_t i = 0; i < folders_.size(); ++i) {
        const Folder &a = old.folders_[i], &b = folders_[i];
        if (a.path != b.path) return false;
        const TreeEntry *ma = a.entry("fjord.toml"), *mb = b.entry("fjord.toml");
        if (!ma != !mb || (ma && (ma->id != mb->id || ma->kind != mb->kind))) return false;
        const TreeEntry *fa = a.entry("files"), *fb = b.entry("files");
        if (fb && fb->kind != EntryKind::dir) return false;
        // validate commands are not kept in generations: the paths that have one are walked
        // again, and a pattern's could match any path, so then the whole host is.
        for (const auto &[path, patch] : b.manifest.files) {
            if (!patch.validate) continue;
            if (is_file_pattern(path)) return false;
            changed_.insert(path);
        }
        bool in_a = fa && fa->kind == EntryKind::dir, in_b = fb != nullptr;
        if (in_a && in_b && fa->id == fb->id) continue;
        FJORD_TRY(diff_files(*base_, tree_, join(b.path, "files"), in_a, in_b, "", changed_));
    }
    // Templates render again every time: the vars are the same, but facts may not be.
    changed_.insert(opts_.base_templates.begin(), opts_.base_templates.end());
    return true;
}

bool Renderer::wanted(const std::string &host, bool folder) const {
    if (!folder) return changed_.count(host) > 0;
    std::string prefix = host + "/";
    auto it = changed_.lower_bound(prefix);
    return it != changed_.end() && it->starts_with(prefix);
}

} // namespace

void Renderer::report(const Result<DesiredState> &end) {
    if (!opts_.template_errors) return;
    std::vector<Error> errors = all_.errors();
    if (!end && std::none_of(errors.begin(), errors.end(), [&](const Error &e) { return e.message == end.error().message; }) &&
        !(first_error_ && end.error().message == first_error_->message))
        errors.push_back(end.error());
    opts_.template_errors->insert(opts_.template_errors->end(), errors.begin(), errors.end());
}

Result<DesiredState> render(const TreeView &tree, const RenderOptions &opts, const TreeView *base) {
    Renderer r(tree, opts, base);
    auto d = r.run();
    r.report(d);
    return d;
}

Result<std::string> clean_relative_path(std::string_view p) {
    if (p.empty()) return fail(Errc::invalid, "empty path");
    if (p.front() == '/') return fail(Errc::invalid, "\"" + printable(p) + "\": absolute (repo paths are relative)");
    std::string out;
    for (std::size_t i = 0, j; i <= p.size(); i = j + 1) {
        j = std::min(p.find('/', i), p.size());
        std::string_view seg = p.substr(i, j - i);
        if (seg == "..") return fail(Errc::invalid, "\"" + printable(p) + "\": \"..\" is not allowed");
        if (seg.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos)
            return fail(Errc::invalid, "\"" + printable(p) + "\": control characters are not allowed");
        if (!seg.empty() && seg != ".") out = join(out, seg);
    }
    return out;
}

} // namespace fjord
