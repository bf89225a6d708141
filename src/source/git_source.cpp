// The cache side of GitSource: opening the local Git cache, commit trees as TreeViews, blobs,
// commit facts and signatures, ancestry, and the refs fjord keeps there. The network side is
// in git_remote.cpp.
#include "source/git_source_impl.hpp"

#include "util/fs.hpp"
#include <algorithm>
#include <filesystem>
#include <unistd.h>

namespace fjord {
namespace git_detail {

std::string oid_hex(const git_oid &oid) {
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    return hex;
}

Result<git_oid> parse_oid(const std::string &id, const char *what) {
    git_oid oid;
    if (id.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, id.c_str()) < 0)
        return fail(Errc::invalid, std::string(what) + " '" + id + "' is not a 40-digit object id");
    return oid;
}

} // namespace git_detail

namespace {

using namespace git_detail;

Result<git_commit_ptr> lookup_commit(git_repository *repo, const std::string &id) {
    auto oid = parse_oid(id, "commit");
    if (!oid) return fail(oid.error());
    git_commit *c = nullptr;
    int rc = git_commit_lookup(&c, repo, &*oid);
    if (rc == GIT_ENOTFOUND) return fail(Errc::not_found, "commit " + id + " is not in the Git cache");
    if (rc < 0) return fail(Errc::corrupt, "commit " + id + ": " + git_last_message());
    return git_commit_ptr(c);
}

Result<std::uint64_t> blob_size_in(git_repository *repo, const std::string &id) {
    auto oid = parse_oid(id, "blob");
    if (!oid) return fail(oid.error());
    git_odb *raw = nullptr;
    if (git_repository_odb(&raw, repo) < 0) return fail(Errc::io, std::string("object database: ") + git_last_message());
    git_odb_ptr odb(raw);
    std::size_t len = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    int rc = git_odb_read_header(&len, &type, odb.get(), &*oid);
    // The blob's tree names it, so the cache should hold it: missing or unreadable, the cache is damaged.
    if (rc == GIT_ENOTFOUND) return fail(Errc::corrupt, "blob " + id + " is missing from the Git cache");
    if (rc < 0) return fail(Errc::corrupt, "blob " + id + ": " + git_last_message());
    if (type != GIT_OBJECT_BLOB) return fail(Errc::invalid, id + " is not a blob");
    return static_cast<std::uint64_t>(len);
}

Result<std::string> read_blob_in(git_repository *repo, const std::string &id, std::uint64_t max) {
    // The header gives the size without inflating the object: refuse before reading.
    auto size = blob_size_in(repo, id);
    if (!size) return fail(size.error());
    if (*size > max)
        return fail(Errc::invalid, "blob " + id + " is " + std::to_string(*size) + " bytes, over the limit of " +
                                       std::to_string(max));
    git_oid oid;
    git_oid_fromstr(&oid, id.c_str());
    git_blob *raw = nullptr;
    if (git_blob_lookup(&raw, repo, &oid) < 0) return fail(Errc::corrupt, "blob " + id + ": " + git_last_message());
    git_blob_ptr blob(raw);
    return std::string(static_cast<const char *>(git_blob_rawcontent(blob.get())),
                       static_cast<std::size_t>(git_blob_rawsize(blob.get())));
}

EntryKind kind_of(git_filemode_t mode) {
    switch (mode) {
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE: return EntryKind::file;
    case GIT_FILEMODE_LINK: return EntryKind::symlink;
    case GIT_FILEMODE_TREE: return EntryKind::dir;
    case GIT_FILEMODE_COMMIT: return EntryKind::submodule;
    default: return EntryKind::other;
    }
}

/// One commit's tree in the cache.
class GitTree final : public TreeView {
  public:
    GitTree(RepoRef repo, std::string commit, git_tree_ptr root)
        : repo_(std::move(repo)), commit_(std::move(commit)), root_(std::move(root)) {}

    Result<std::vector<TreeEntry>> list(const std::string &dir) const override {
        std::string d = dir;
        while (d.starts_with("./")) d.erase(0, 2);
        while (!d.empty() && d.back() == '/') d.pop_back();
        git_tree_ptr sub;
        const git_tree *tree = root_.get();
        if (!d.empty() && d != ".") {
            git_tree_entry *raw = nullptr;
            int rc = git_tree_entry_bypath(&raw, root_.get(), d.c_str());
            git_tree_entry_ptr e(raw);
            // A tree object missing on the way is the cache's damage, not a folder the commit lacks.
            const git_error *ge = rc < 0 ? git_error_last() : nullptr;
            bool odb = ge && (ge->klass == GIT_ERROR_ODB || ge->klass == GIT_ERROR_ZLIB || ge->klass == GIT_ERROR_OBJECT);
            if (!odb && (rc == GIT_ENOTFOUND || (rc == 0 && git_tree_entry_type(e.get()) != GIT_OBJECT_TREE)))
                return fail(Errc::not_found, "no folder " + d + " in commit " + commit_);
            if (rc < 0) return fail(Errc::corrupt, d + ": " + git_last_message());
            git_tree *t = nullptr;
            if (git_tree_lookup(&t, repo_->repo.get(), git_tree_entry_id(e.get())) < 0)
                return fail(Errc::corrupt, d + ": " + git_last_message());
            sub.reset(t);
            tree = t;
        }
        std::vector<TreeEntry> out;
        std::size_t n = git_tree_entrycount(tree);
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const git_tree_entry *e = git_tree_entry_byindex(tree, i);
            git_filemode_t mode = git_tree_entry_filemode(e);
            out.push_back(TreeEntry{git_tree_entry_name(e), kind_of(mode), mode == GIT_FILEMODE_BLOB_EXECUTABLE,
                                    oid_hex(*git_tree_entry_id(e))});
        }
        // Git orders a folder "a" as "a/"; callers want plain name order, as from a folder on disk.
        std::sort(out.begin(), out.end(), [](const TreeEntry &a, const TreeEntry &b) { return a.name < b.name; });
        return out;
    }

    Result<std::uint64_t> blob_size(const std::string &id) const override {
        return blob_size_in(repo_->repo.get(), id);
    }
    Result<std::string> read_blob(const std::string &id, std::uint64_t max) const override {
        return read_blob_in(repo_->repo.get(), id, max);
    }
    std::string commit() const override { return commit_; }

  private:
    RepoRef repo_;
    std::string commit_;
    git_tree_ptr root_; // freed before repo_ (members go in reverse order)
};

// Process-wide libgit2 settings, the same for every GitSource.
void configure_libgit2() {
    // Objects and refs are fsynced, so a power loss cannot leave a ref naming a lost object.
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
    // The agent follows fjord.toml only: root's ~/.gitconfig or /etc/gitconfig (insteadOf,
    // proxies, hooks paths) must not change what it fetches.
    for (int level : {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
                      GIT_CONFIG_LEVEL_PROGRAMDATA})
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "");
    // The default object cache may grow to 256 MiB; the agent must stay small.
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, static_cast<ssize_t>(4) << 20);
    // Pack files are read through mmap windows that stay mapped (and resident) until a limit,
    // 8 GiB by default on 64-bit: an idle agent must not keep its whole cache in memory.
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, static_cast<std::size_t>(1) << 20);
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, static_cast<std::size_t>(8) << 20);
}

} // namespace

bool GitSource::Impl::has_commit(const git_oid &oid) const {
    git_object *raw = nullptr;
    if (git_object_lookup(&raw, repo->repo.get(), &oid, GIT_OBJECT_COMMIT) < 0) return false;
    git_object_ptr obj(raw);
    return true;
}

GitSource::GitSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GitSource::~GitSource() = default;
const std::string &GitSource::cache_dir() const { return impl_->cache_dir; }

Result<std::unique_ptr<GitSource>> GitSource::open(const SourceConfig &cfg, const std::string &cache_dir) {
    if (cfg.url.empty()) return fail(Errc::invalid, "source.url is not set");
    if (cfg.branch.empty() && cfg.tag.empty()) return fail(Errc::invalid, "source: neither branch nor tag is set");
    auto impl = std::make_unique<Impl>();
    impl->cfg = cfg;
    impl->cache_dir = cache_dir;
    impl->url = parse_url(cfg.url);
    impl->repo = std::make_shared<Repo>();
    configure_libgit2();

    const std::string what = "open Git cache " + cache_dir;
    if (auto ok = mkdir_p(cache_dir, 0700); !ok) return fail(ok.error().context(what));
    git_repository *raw = nullptr;
    // NO_SEARCH: a cache folder that is not a repository must never resolve to a parent one.
    int rc = git_repository_open_ext(&raw, cache_dir.c_str(),
                                     GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, nullptr);
    if (rc == GIT_ENOTFOUND) rc = git_repository_init(&raw, cache_dir.c_str(), 1);
    if (rc < 0) return fail(Errc::io, what + ": " + git_last_message());
    impl->repo->repo.reset(raw);

    git_remote *remote = nullptr;
    if (git_remote_create_anonymous(&remote, raw, cfg.url.c_str()) < 0)
        return fail(Errc::invalid, "source.url " + impl->url.shown + ": " + git_last_message());
    impl->remote.reset(remote);
    return std::unique_ptr<GitSource>(new GitSource(std::move(impl)));
}

Result<bool> GitSource::is_descendant(const std::string &commit, const std::string &ancestor) {
    git_repository *repo = impl_->repo->repo.get();
    auto c = lookup_commit(repo, commit);
    if (!c) return fail(c.error().code == Errc::not_found ? Error{Errc::corrupt, c.error().message} : c.error());
    auto a = lookup_commit(repo, ancestor);
    if (!a) return fail(a.error());
    const git_oid *co = git_commit_id(c->get()), *ao = git_commit_id(a->get());
    if (git_oid_equal(co, ao)) return true;
    int rc = git_graph_descendant_of(repo, co, ao);
    // A commit missing on the way between the two is damage, never "not an ancestor".
    if (rc < 0) return fail(Errc::corrupt, "history of " + commit + ": " + git_last_message());
    return rc == 1;
}

Result<std::unique_ptr<TreeView>> GitSource::tree(const std::string &commit) {
    auto c = lookup_commit(impl_->repo->repo.get(), commit);
    // Trees are asked of fetched commits only: one that is gone was lost from the cache.
    if (!c) return fail(c.error().code == Errc::not_found ? Error{Errc::corrupt, c.error().message} : c.error());
    git_tree *t = nullptr;
    if (git_commit_tree(&t, c->get()) < 0) return fail(Errc::corrupt, "tree of " + commit + ": " + git_last_message());
    return std::unique_ptr<TreeView>(
        std::make_unique<GitTree>(impl_->repo, oid_hex(*git_commit_id(c->get())), git_tree_ptr(t)));
}

Result<CommitInfo> GitSource::commit_info(const std::string &commit) {
    auto c = lookup_commit(impl_->repo->repo.get(), commit);
    if (!c) return fail(c.error());
    CommitInfo info;
    info.id = oid_hex(*git_commit_id(c->get()));
    if (const char *s = git_commit_summary(c->get())) info.subject = s;
    if (const git_signature *a = git_commit_author(c->get()))
        info.author = std::string(a->name ? a->name : "") + " <" + (a->email ? a->email : "") + ">";
    info.time = static_cast<std::int64_t>(git_commit_time(c->get()));
    return info;
}

Result<CommitSignature> GitSource::commit_signature(const std::string &commit) {
    auto oid = parse_oid(commit, "commit");
    if (!oid) return fail(oid.error());
    git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
    int rc = git_commit_extract_signature(&sig, &data, impl_->repo->repo.get(), &*oid, "gpgsig");
    CommitSignature out;
    if (rc == 0) {
        out.signature.assign(sig.ptr, sig.size);
        out.signed_data.assign(data.ptr, data.size);
    }
    git_buf_dispose(&sig);
    git_buf_dispose(&data);
    if (rc == GIT_ENOTFOUND) return fail(Errc::not_found, "commit " + commit + " is not signed");
    if (rc < 0) return fail(Errc::io, "signature of commit " + commit + ": " + git_last_message());
    return out;
}

Status GitSource::verify_refs() {
    git_repository *repo = impl_->repo->repo.get();
    // HEAD first: a damaged one fails every fetch into the cache (libgit2 reads it to negotiate).
    {
        git_reference *head = nullptr;
        if (git_reference_lookup(&head, repo, "HEAD") < 0)
            return fail(Errc::corrupt, "Git cache " + impl_->cache_dir + ": HEAD: " + git_last_message());
        git_reference_free(head);
    }
    // By name, then each looked up: an iterator passes over a loose ref it cannot parse, which
    // a fetch then trips on ("corrupted loose reference file").
    git_strarray names{};
    if (git_reference_list(&names, repo) < 0)
        return fail(Errc::corrupt, "Git cache " + impl_->cache_dir + ": refs: " + git_last_message());
    std::unique_ptr<git_strarray, decltype(&git_strarray_dispose)> owned_names(&names, git_strarray_dispose);
    for (std::size_t i = 0; i < names.count; ++i) {
        std::string name = names.strings[i];
        if (!name.starts_with("refs/fjord/")) continue;
        git_reference *ref = nullptr;
        if (git_reference_lookup(&ref, repo, name.c_str()) < 0)
            return fail(Errc::corrupt, "Git cache " + impl_->cache_dir + ": " + name + ": " + git_last_message());
        git_reference_ptr owned(ref);
        const git_oid *oid = git_reference_target(ref);
        if (!oid) return fail(Errc::corrupt, "Git cache " + impl_->cache_dir + ": " + name + " names no commit");
        git_commit *c = nullptr;
        if (git_commit_lookup(&c, repo, oid) < 0)
            return fail(Errc::corrupt, "Git cache " + impl_->cache_dir + ": " + name + ": " + git_last_message());
        git_commit_ptr commit(c);
        git_tree *t = nullptr;
        if (git_commit_tree(&t, c) < 0)
            return fail(Errc::corrupt, "Git cache " + impl_->cache_dir + ": " + name + ": tree: " + git_last_message());
        git_tree_free(t);
    }
    // A loose ref file the listing could not even name (cut to nothing, say).
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(impl_->cache_dir + "/refs/fjord", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::string name = "refs/fjord/" + std::filesystem::relative(it->path(), impl_->cache_dir + "/refs/fjord", ec).string();
        git_reference *ref = nullptr;
        if (git_reference_lookup(&ref, repo, name.c_str()) < 0)
            return fail(Errc::corrupt, "Git cache " + impl_->cache_dir + ": " + name + ": " + git_last_message());
        git_reference_free(ref);
    }
    return {};
}

Status GitSource::keep(const std::string &name, const std::string &commit) {
    git_repository *repo = impl_->repo->repo.get();
    std::string ref = "refs/fjord/keep/" + name;
    int valid = 0;
    if (name.empty() || git_reference_name_is_valid(&valid, ref.c_str()) < 0 || !valid)
        return fail(Errc::invalid, "keep: '" + name + "' does not make a valid ref name");
    auto c = lookup_commit(repo, commit);
    if (!c) return fail(c.error());
    git_reference *raw = nullptr;
    if (git_reference_create(&raw, repo, ref.c_str(), git_commit_id(c->get()), 1, "fjord: keep") < 0)
        return fail(Errc::io, "keep " + ref + ": " + git_last_message());
    git_reference_ptr keep_ref(raw);
    return {};
}

Result<std::string> GitSource::write_object(std::string_view type, std::string_view data) {
    git_object_t t = git_object_string2type(std::string(type).c_str());
    if (t != GIT_OBJECT_BLOB && t != GIT_OBJECT_TREE && t != GIT_OBJECT_COMMIT)
        return fail(Errc::invalid, "write object: unknown type " + std::string(type));
    git_odb *raw = nullptr;
    if (git_repository_odb(&raw, impl_->repo->repo.get()) < 0) return fail(Errc::io, std::string("write object: ") + git_last_message());
    git_odb_ptr odb(raw);
    git_oid oid;
    if (git_odb_write(&oid, odb.get(), data.data(), data.size(), t) < 0)
        return fail(Errc::io, "write " + std::string(type) + " into " + impl_->cache_dir + ": " + git_last_message());
    return oid_hex(oid);
}

Status GitSource::set_ref(const std::string &ref, const std::string &id) {
    int valid = 0;
    if (!ref.starts_with("refs/fjord/") || git_reference_name_is_valid(&valid, ref.c_str()) < 0 || !valid)
        return fail(Errc::invalid, "set ref: '" + ref + "' is not a refs/fjord/ ref name");
    auto oid = parse_oid(id, "object");
    if (!oid) return fail(oid.error());
    git_reference *raw = nullptr;
    if (git_reference_create(&raw, impl_->repo->repo.get(), ref.c_str(), &*oid, 1, "fjord: set") < 0)
        return fail(Errc::io, "set " + ref + ": " + git_last_message());
    git_reference_ptr r(raw);
    return {};
}

Status GitSource::unkeep(const std::string &name) {
    std::string ref = "refs/fjord/keep/" + name;
    int rc = git_reference_remove(impl_->repo->repo.get(), ref.c_str());
    if (rc < 0 && rc != GIT_ENOTFOUND) return fail(Errc::io, "unkeep " + ref + ": " + git_last_message());
    return {};
}

Status GitSource::clear_stale_locks() {
    const std::string gitdir = git_repository_path(impl_->repo->repo.get()); // ends in '/'
    std::vector<std::string> locks{gitdir + "packed-refs.lock"};
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(gitdir + "refs/fjord", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->path().extension() == ".lock") locks.push_back(it->path().string());
    for (const auto &lock : locks)
        if (::unlink(lock.c_str()) < 0 && errno != ENOENT) return fail_errno("remove stale lock " + lock);
    return {};
}

Result<std::vector<std::pair<std::string, std::string>>> GitSource::refs(const std::string &prefix, std::size_t max) const {
    git_reference_iterator *it = nullptr;
    if (git_reference_iterator_new(&it, impl_->repo->repo.get()) < 0) return fail(Errc::io, std::string("list refs: ") + git_last_message());
    git_reference_iterator_ptr own(it);
    std::vector<std::pair<std::string, std::string>> out;
    git_reference *ref = nullptr;
    while (git_reference_next(&ref, it) == 0) {
        git_reference_ptr r(ref);
        std::string name = git_reference_name(ref);
        const git_oid *oid = git_reference_target(ref);
        if (!name.starts_with(prefix) || !oid) continue;
        if (out.size() == max) return fail(Errc::refused, "more than " + std::to_string(max) + " refs under " + prefix);
        out.emplace_back(std::move(name), git_detail::oid_hex(*oid));
    }
    std::sort(out.begin(), out.end());
    return out;
}

Result<std::string> GitSource::read_blob(const std::string &id, std::uint64_t max) const {
    return read_blob_in(impl_->repo->repo.get(), id, max);
}

} // namespace fjord
