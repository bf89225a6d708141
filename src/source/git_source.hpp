#pragma once
// The Git side of fjord on libgit2: a cheap poll of the remote head (ls-remote), a fetch of
// only that ref when it moved, ancestry checks, and commit trees as TreeViews. ssh host keys are
// verified against source.known_hosts by fjord itself (libgit2 does not).
#include "config/config.hpp"
#include "util/tree.hpp"
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fjord {

/// What the remote offers now: the ref followed and the commit it names.
struct RemoteHead {
    std::string ref;    ///< "refs/heads/main" or "refs/tags/release-7"
    std::string commit; ///< 40 hex digits
};

/// What history shows of a commit.
struct CommitInfo {
    std::string id;
    std::string subject;
    std::string author;
    std::int64_t time = 0; ///< seconds since the epoch
};

/// A commit's "gpgsig" header and the commit text it signs (the commit without that header).
struct CommitSignature {
    std::string signature;
    std::string signed_data;
};

/// The local Git cache of the remote (state.dir/repo, a bare repository).
class GitSource : public BlobReader {
  public:
    /// Opens (or creates) the cache at cache_dir for the remote in cfg. Does no network I/O.
    [[nodiscard]] static Result<std::unique_ptr<GitSource>> open(const SourceConfig &cfg, const std::string &cache_dir);
    ~GitSource() override;

    /// Asks the remote for the followed ref only (branch head, or newest tag matching
    /// source.tag by version order). Fetches nothing. Errc::network / Errc::auth on failure.
    [[nodiscard]] Result<RemoteHead> poll();
    /// Fetches `head` into the cache unless its commit is already there.
    [[nodiscard]] Status fetch(const RemoteHead &head);
    /// True when `commit` has `ancestor` in its history (or is it). Errc::not_found when the
    /// ancestor is not in the cache; Errc::corrupt when `commit` or a commit between is lost.
    [[nodiscard]] Result<bool> is_descendant(const std::string &commit, const std::string &ancestor);
    /// The tree of a fetched commit.
    [[nodiscard]] Result<std::unique_ptr<TreeView>> tree(const std::string &commit);
    /// Subject, author and time of a fetched commit.
    [[nodiscard]] Result<CommitInfo> commit_info(const std::string &commit);
    /// The signature of a fetched commit; Errc::not_found when it is not signed.
    [[nodiscard]] Result<CommitSignature> commit_signature(const std::string &commit);
    /// A cheap integrity check of the cache: every refs/fjord/* ref names a commit whose root
    /// tree can be read. Errc::corrupt naming the ref otherwise.
    [[nodiscard]] Status verify_refs();
    /// Keeps `commit` reachable from refs/fjord/keep/NAME, so content of kept generations stays.
    [[nodiscard]] Status keep(const std::string &name, const std::string &commit);
    /// Writes an object ("blob", "tree" or "commit") into the cache and answers its id (the
    /// fleet report and marker, built by fleet/report.hpp).
    [[nodiscard]] Result<std::string> write_object(std::string_view type, std::string_view data);
    /// Points the local ref `ref` (refs/fjord/...) at object `id`, replacing what it named.
    [[nodiscard]] Status set_ref(const std::string &ref, const std::string &id);
    /// One push of `refspecs` ("+refs/local:refs/remote", ":refs/remote" deletes) to the remote,
    /// with the same credentials and host key checks as a fetch. A ref the remote refuses fails
    /// it, naming the ref and the remote's reason. Errc::network / Errc::auth / Errc::refused.
    [[nodiscard]] Status push(const std::vector<std::string> &refspecs);
    /// Drops refs/fjord/keep/NAME.
    [[nodiscard]] Status unkeep(const std::string &name);
    /// Removes the lock files a fetch or keep killed mid-way leaves (refs/fjord/*.lock,
    /// packed-refs.lock), which would fail every later fetch. Only while holding the state lock.
    [[nodiscard]] Status clear_stale_locks();
    /// Fetches every ref under refs/fjord/ of the remote (a fleet's status repository: reports
    /// and markers, fleet/marker.hpp) into refs/status/ of the cache, pruning those gone. Bounded
    /// as fetch() is.
    [[nodiscard]] Status fetch_status_refs();
    /// The cache's refs whose names start with `prefix`, sorted, name -> object id; Errc::refused
    /// past `max` of them.
    [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> refs(const std::string &prefix, std::size_t max) const;
    [[nodiscard]] Result<std::string> read_blob(const std::string &id, std::uint64_t max) const override;
    /// The cache folder given to open(): the only place a fetch writes to.
    [[nodiscard]] const std::string &cache_dir() const;

  private:
    struct Impl;
    explicit GitSource(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Orders tag names as `sort -V` does: digit runs compare as numbers (release-10 > release-9).
[[nodiscard]] int compare_versions(std::string_view a, std::string_view b);

} // namespace fjord
