#include "source/git_source.hpp"

#include "source/known_hosts.hpp"
#include "util/fs.hpp"
#include "util/git_handles.hpp"
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fnmatch.h>
#include <cstring>
#include <map>
#include <optional>
#include <unistd.h>

namespace fjord {
namespace {

// A fetch past this is refused: a fleet repo this large is a mistake, and a small VPS must not
// fill its disk with it.
constexpr std::uint64_t max_fetch_bytes = 2ull << 30;

struct LibGit2 {
    LibGit2() { git_libgit2_init(); }
    ~LibGit2() { git_libgit2_shutdown(); }
    LibGit2(const LibGit2 &) = delete;
    LibGit2 &operator=(const LibGit2 &) = delete;
};

// The cache repository, shared by the source and the trees it hands out, so a tree may outlive
// its source; libgit2 stays initialised until the last of them is gone.
struct Repo {
    LibGit2 lib; // first member: shut down after the repository is freed
    git_repository_ptr repo;
};
using RepoRef = std::shared_ptr<Repo>;

/// The parts of source.url that credentials and host key checks need.
struct RemoteUrl {
    std::string scheme; ///< "ssh", "https", "http", "git", "file" or "local"
    std::string user;
    std::string host;
    int port = 0;
    std::string shown; ///< the URL for messages, without any password
};

std::string lower(std::string s) {
    for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

void split_authority(std::string authority, RemoteUrl &u) {
    auto at = authority.rfind('@');
    if (at != std::string::npos) {
        u.user = authority.substr(0, authority.find(':') < at ? authority.find(':') : at);
        authority.erase(0, at + 1);
    }
    std::string port;
    if (!authority.empty() && authority[0] == '[') { // [v6addr]:port
        auto close = authority.find(']');
        u.host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':')
            port = authority.substr(close + 2);
    } else {
        auto colon = authority.rfind(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string::npos) port = authority.substr(colon + 1);
    }
    if (!port.empty()) std::from_chars(port.data(), port.data() + port.size(), u.port);
}

RemoteUrl parse_url(const std::string &url) {
    RemoteUrl u;
    u.shown = url;
    auto sep = url.find("://");
    if (sep != std::string::npos) {
        u.scheme = lower(url.substr(0, sep));
        std::string rest = url.substr(sep + 3);
        std::string authority = rest.substr(0, rest.find('/'));
        auto at = authority.rfind('@'), colon = authority.find(':');
        if (at != std::string::npos && colon < at) // user:password@ — never shown
            u.shown = url.substr(0, sep + 3) + authority.substr(0, colon) + ":***" + rest.substr(at);
        if (u.scheme != "file") split_authority(authority, u);
    } else {
        // scp-like "[user@]host:path" is ssh; anything else is a local path.
        auto colon = url.find(':'), slash = url.find('/');
        if (colon != std::string::npos && colon > 0 && (slash == std::string::npos || colon < slash)) {
            u.scheme = "ssh";
            split_authority(url.substr(0, colon), u);
            u.port = 0;
        } else {
            u.scheme = "local";
        }
    }
    if (u.scheme == "ssh+git" || u.scheme == "git+ssh") u.scheme = "ssh";
    if (u.scheme == "ssh" && u.port == 0) u.port = 22;
    return u;
}

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

std::string trim(std::string s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && ws(s.back())) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && ws(s[i])) ++i;
    return s.substr(i);
}

} // namespace

struct GitSource::Impl {
    SourceConfig cfg;
    std::string cache_dir;
    RemoteUrl url;
    RepoRef repo;
    git_remote_ptr remote; // made once: libgit2 1.5 leaks ~40 KB for every remote it creates

    // State of the network operation in flight, which the callbacks read and write.
    int key_offers = 0;
    int token_offers = 0;
    std::optional<Error> callback_error; // why a callback refused; libgit2's text says less
    std::string token;                   // scrubbed from every message

    void begin() {
        key_offers = token_offers = 0;
        callback_error.reset();
    }

    git_remote_callbacks callbacks() {
        git_remote_callbacks cbs;
        git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
        cbs.credentials = &Impl::on_credentials;
        cbs.certificate_check = &Impl::on_certificate;
        cbs.transfer_progress = &Impl::on_progress;
        cbs.payload = this;
        return cbs;
    }

    int refuse(Error e, int rc) {
        if (!callback_error) callback_error = std::move(e);
        return rc;
    }

    int credential(git_credential **out, std::string user, unsigned int allowed) {
        if (url.scheme == "ssh") {
            if (user.empty()) user = "git";
            if (allowed & GIT_CREDENTIAL_SSH_KEY) {
                // libgit2 asks again after the server refuses a key: offering the same key
                // once more would loop, so the second ask is the answer.
                if (key_offers++ > 0)
                    return refuse({Errc::auth, "the server refused ssh key " + cfg.ssh_key + " for user " + user},
                                  GIT_EAUTH);
                if (auto ok = check_ssh_key(cfg.ssh_key); !ok) return refuse(ok.error(), GIT_EAUTH);
                std::string pub = cfg.ssh_key + ".pub";
                bool has_pub = ::access(pub.c_str(), R_OK) == 0;
                return git_credential_ssh_key_new(out, user.c_str(), has_pub ? pub.c_str() : nullptr,
                                                  cfg.ssh_key.c_str(), nullptr);
            }
            if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
            return refuse({Errc::auth, "the server offers no public key authentication"}, GIT_EAUTH);
        }
        if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
            if (cfg.token_file.empty())
                return refuse({Errc::auth, "the server asks for credentials and source.token_file is not set"},
                              GIT_EAUTH);
            if (token_offers++ > 0)
                return refuse({Errc::auth, "the server refused the token in " + cfg.token_file}, GIT_EAUTH);
            auto t = read_file(cfg.token_file, 64u << 10);
            if (!t) return refuse({Errc::auth, "token_file " + t.error().message}, GIT_EAUTH);
            token = trim(std::move(*t));
            if (token.empty()) return refuse({Errc::auth, "token_file " + cfg.token_file + " is empty"}, GIT_EAUTH);
            if (user.empty()) user = "x-access-token";
            return git_credential_userpass_plaintext_new(out, user.c_str(), token.c_str());
        }
        return refuse({Errc::auth, "the server asks for a kind of credential fjord does not have"}, GIT_EAUTH);
    }

    int certificate(git_cert *cert, int valid, const char *host) {
        std::string h = url.host.empty() && host ? host : url.host;
        if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
            // libgit2 1.5 checks no known_hosts and passes valid=0: the check is fjord's.
            const auto *hk = reinterpret_cast<const git_cert_hostkey *>(cert);
            if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey)
                return refuse({Errc::auth, "cannot verify the host key of " + known_hosts_name(h, url.port) +
                                               ": libssh2 did not hand it over"},
                              GIT_ECERTIFICATE);
            auto ok = verify_host_key(cfg.known_hosts, h, url.port, std::string_view(hk->hostkey, hk->hostkey_len));
            if (!ok) return refuse(ok.error(), GIT_ECERTIFICATE);
            return 0;
        }
        if (valid) return GIT_PASSTHROUGH; // TLS: libgit2 verified the chain against the system CAs
        return refuse({Errc::auth, "the TLS certificate of " + h + " is not trusted"}, GIT_ECERTIFICATE);
    }

    // C callbacks: nothing may throw through libgit2.
    static int on_credentials(git_credential **out, const char *, const char *user, unsigned int allowed,
                              void *payload) noexcept {
        try {
            return static_cast<Impl *>(payload)->credential(out, user ? user : "", allowed);
        } catch (...) {
            return GIT_EUSER;
        }
    }
    static int on_certificate(git_cert *cert, int valid, const char *host, void *payload) noexcept {
        try {
            return static_cast<Impl *>(payload)->certificate(cert, valid, host);
        } catch (...) {
            return GIT_EUSER;
        }
    }
    static int on_progress(const git_indexer_progress *stats, void *payload) noexcept {
        if (stats->received_bytes <= max_fetch_bytes) return 0;
        try {
            return static_cast<Impl *>(payload)->refuse(
                {Errc::refused, "the fetch passed " + std::to_string(max_fetch_bytes >> 20) + " MiB, fjord's limit"},
                GIT_EUSER);
        } catch (...) {
            return GIT_EUSER;
        }
    }

    /// The error of a failed network operation: "WHAT URL: reason", with no token in it.
    Error failure(const std::string &what, int rc) const {
        std::string prefix = what + " " + url.shown;
        if (callback_error) return callback_error->context(prefix);
        const git_error *e = git_error_last();
        std::string msg = git_last_message();
        Errc code = Errc::network;
        if (rc == GIT_EAUTH || rc == GIT_ECERTIFICATE ||
            (e && e->klass == GIT_ERROR_SSH && msg.find("authenticat") != std::string::npos))
            code = Errc::auth;
        // libgit2 1.5 reports this as a missing config value; say what it means.
        // For a local path that is not there, libgit2 1.5 says "unsupported URL protocol".
        if (url.scheme == "local" && ::access(url.shown.c_str(), F_OK) < 0)
            msg = std::string("no such repository: ") + std::strerror(errno);
        else if (rc == GIT_EOWNER || msg.find("safe.directory") != std::string::npos)
            msg = "the repository is owned by another user, which libgit2 refuses (safe.directory); "
                  "chown it or serve it over git:// or ssh";
        for (std::size_t p; !token.empty() && (p = msg.find(token)) != std::string::npos;) msg.replace(p, token.size(), "***");
        return Error{code, prefix + ": " + msg};
    }

    bool has_commit(const git_oid &oid) const {
        git_object *raw = nullptr;
        if (git_object_lookup(&raw, repo->repo.get(), &oid, GIT_OBJECT_COMMIT) < 0) return false;
        git_object_ptr obj(raw);
        return true;
    }
};

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

int compare_versions(std::string_view a, std::string_view b) {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            while (i < a.size() && a[i] == '0') ++i;
            while (j < b.size() && b[j] == '0') ++j;
            std::size_t si = i, sj = j;
            while (i < a.size() && digit(a[i])) ++i;
            while (j < b.size() && digit(b[j])) ++j;
            if (i - si != j - sj) return i - si < j - sj ? -1 : 1; // more digits: a larger number
            if (int c = a.substr(si, i - si).compare(b.substr(sj, j - sj)); c != 0) return c < 0 ? -1 : 1;
            continue;
        }
        if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
        ++i, ++j;
    }
    if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0; // "v01" and "v1": any fixed order will do
}

Result<RemoteHead> GitSource::poll() {
    Impl &m = *impl_;
    m.begin();
    git_remote_callbacks cbs = m.callbacks();
    int rc = git_remote_connect(m.remote.get(), GIT_DIRECTION_FETCH, &cbs, nullptr, nullptr);
    if (rc < 0) return fail(m.failure("poll", rc));
    struct Disconnect {
        git_remote *r;
        ~Disconnect() { git_remote_disconnect(r); }
    } disconnect{m.remote.get()};

    const git_remote_head **heads = nullptr;
    std::size_t n = 0;
    if ((rc = git_remote_ls(&heads, &n, m.remote.get())) < 0) return fail(m.failure("poll", rc));

    if (m.cfg.tag.empty()) {
        const std::string want = "refs/heads/" + m.cfg.branch;
        for (std::size_t i = 0; i < n; ++i)
            if (want == heads[i]->name) return RemoteHead{want, oid_hex(heads[i]->oid)};
        return fail(Errc::not_found, "poll " + m.url.shown + ": no branch '" + m.cfg.branch + "' on the remote");
    }
    // Annotated tags come twice: "refs/tags/T" names the tag object, "refs/tags/T^{}" the
    // commit it peels to.
    std::map<std::string, std::string> direct, peeled;
    for (std::size_t i = 0; i < n; ++i) {
        std::string_view name = heads[i]->name;
        if (!name.starts_with("refs/tags/")) continue;
        name.remove_prefix(10);
        bool is_peeled = name.ends_with("^{}");
        if (is_peeled) name.remove_suffix(3);
        std::string tag(name);
        if (::fnmatch(m.cfg.tag.c_str(), tag.c_str(), 0) != 0) continue;
        (is_peeled ? peeled : direct)[tag] = oid_hex(heads[i]->oid);
    }
    const std::string *best = nullptr;
    for (const auto &[tag, id] : direct)
        if (!best || compare_versions(tag, *best) > 0) best = &tag;
    if (!best) return fail(Errc::not_found, "poll " + m.url.shown + ": no tag matching '" + m.cfg.tag + "'");
    auto p = peeled.find(*best);
    return RemoteHead{"refs/tags/" + *best, p != peeled.end() ? p->second : direct[*best]};
}

Status GitSource::fetch(const RemoteHead &head) {
    Impl &m = *impl_;
    auto oid = parse_oid(head.commit, "commit");
    if (!oid) return fail(oid.error());
    // A commit once fetched is complete with its trees and blobs: no network for it again.
    if (m.has_commit(*oid)) return {};
    int valid = 0;
    if (!head.ref.starts_with("refs/") || git_reference_name_is_valid(&valid, head.ref.c_str()) < 0 || !valid)
        return fail(Errc::invalid, "fetch: '" + head.ref + "' is not a ref name");

    m.begin();
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    opts.callbacks = m.callbacks();
    opts.prune = GIT_FETCH_NO_PRUNE;
    opts.update_fetchhead = 0;
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    // Only the followed ref, into one local ref that keeps the newest fetch reachable.
    std::string spec = "+" + head.ref + ":refs/fjord/remote";
    char *specs[] = {spec.data()};
    git_strarray refspecs{specs, 1};
    int rc = git_remote_fetch(m.remote.get(), &refspecs, &opts, "fjord: fetch");
    if (rc < 0) return fail(m.failure("fetch " + head.ref + " from", rc));
    if (!m.has_commit(*oid))
        return fail(Errc::network, "fetch " + head.ref + " from " + m.url.shown + ": the remote no longer has " +
                                       head.commit + " there (it moved since the poll)");
    return {};
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

Result<std::string> GitSource::read_blob(const std::string &id, std::uint64_t max) const {
    return read_blob_in(impl_->repo->repo.get(), id, max);
}

} // namespace fjord
