#pragma once
// The inside of GitSource, shared by its two halves and by nothing outside source/: the cache
// side (git_source.cpp: opening the cache, trees, blobs, commits, ancestry, refs) and the
// network side (git_remote.cpp: the remote's URL, credentials, host key checks, poll, fetch).
#include "source/git_source.hpp"
#include "util/git_handles.hpp"
#include <memory>
#include <optional>
#include <string>

namespace fjord {
namespace git_detail {

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

/// source.url taken apart (git_remote.cpp): scp-like "[user@]host:path" is ssh, a path local.
[[nodiscard]] RemoteUrl parse_url(const std::string &url);

/// 40 hex digits of an object id.
[[nodiscard]] std::string oid_hex(const git_oid &oid);
/// An object id from 40 hex digits; `what` names it in the error ("commit").
[[nodiscard]] Result<git_oid> parse_oid(const std::string &id, const char *what);

} // namespace git_detail

struct GitSource::Impl {
    SourceConfig cfg;
    std::string cache_dir;
    git_detail::RemoteUrl url;
    git_detail::RepoRef repo;
    git_remote_ptr remote; // made once: libgit2 1.5 leaks ~40 KB for every remote it creates

    // State of the network operation in flight, which the callbacks read and write.
    int key_offers = 0;
    int token_offers = 0;
    std::optional<Error> callback_error; // why a callback refused; libgit2's text says less
    std::string token;                   // scrubbed from every message
    void *push_verdicts = nullptr;       // the push in flight's verdicts (git_remote.cpp)

    // The network operation in flight (git_remote.cpp).
    void begin();
    /// One fetch of `spec` with fjord's callbacks, no tags, no FETCH_HEAD (prune: drop local
    /// refs the spec maps that the remote no longer has); libgit2's return code.
    int fetch_refspec(std::string spec, bool prune, const char *reflog);
    git_remote_callbacks callbacks();
    int refuse(Error e, int rc);
    int credential(git_credential **out, std::string user, unsigned int allowed);
    int certificate(git_cert *cert, int valid, const char *host);
    // C callbacks: nothing may throw through libgit2.
    static int on_credentials(git_credential **out, const char *, const char *user, unsigned int allowed,
                              void *payload) noexcept;
    static int on_certificate(git_cert *cert, int valid, const char *host, void *payload) noexcept;
    static int on_progress(const git_indexer_progress *stats, void *payload) noexcept;
    /// The error of a failed network operation: "WHAT URL: reason", with no token in it.
    Error failure(const std::string &what, int rc) const;

    /// True when the cache holds `oid` as a commit (git_source.cpp).
    bool has_commit(const git_oid &oid) const;
};

} // namespace fjord
