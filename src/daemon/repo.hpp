#pragma once
// The Git side as the engine uses it, behind one narrow interface so that the engine's tests
// drive it with scripted commits (tests/support/fake_repo.hpp). The real one (git_repo.cpp)
// runs each step that reads the remote's bytes in a sandboxed child and looks after the cache.
#include "manifest/desired_state.hpp"
#include "manifest/render.hpp"
#include "source/git_source.hpp"
#include "source/signature.hpp"
#include "util/tree.hpp"
#include "util/result.hpp"
#include <memory>
#include <optional>
#include <string>

namespace fjord {

/// The followed remote and fjord's Git cache of it.
class Repo {
  public:
    virtual ~Repo() = default;
    /// The remote's head of the followed ref (fetches nothing).
    [[nodiscard]] virtual Result<RemoteHead> poll() = 0;
    /// `head` into the cache. Errc::network and the like when the remote fails.
    [[nodiscard]] virtual Status fetch(const RemoteHead &head) = 0;
    /// The cache's own integrity (its refs name readable commits). Errc::corrupt when not.
    [[nodiscard]] virtual Status verify() = 0;
    /// True when `commit` has `ancestor` in its history. Errc::not_found: the ancestor is not
    /// in the cache; Errc::corrupt: the cache lost a commit it should have.
    [[nodiscard]] virtual Result<bool> descends(const std::string &commit, const std::string &ancestor) = 0;
    /// The host's desired state of `commit`. Errc::invalid/refused: the commit's content;
    /// Errc::killed: the renderer died by a limit or a signal; Errc::corrupt: the cache.
    [[nodiscard]] virtual Result<DesiredState> render(const std::string &commit, const RenderOptions &opts) = 0;
    /// Who signed `commit`, checked against the allowed-signers file. Errc::refused when nobody allowed did.
    [[nodiscard]] virtual Result<Signer> signer(const std::string &commit, const std::string &allowed_signers) = 0;
    /// The file `name` at the root of the repo in `commit` (fleet.toml), at most `max` bytes;
    /// nullopt when there is none. Read in a sandboxed child.
    [[nodiscard]] virtual Result<std::optional<std::string>> root_file(const std::string &commit, const std::string &name,
                                                                       std::uint64_t max) = 0;
    /// Subject and time of a fetched commit (for status).
    [[nodiscard]] virtual Result<CommitInfo> commit_info(const std::string &commit) = 0;
    /// Keeps a kept generation's commit reachable in the cache (and lets it go).
    [[nodiscard]] virtual Status keep(const std::string &name, const std::string &commit) = 0;
    [[nodiscard]] virtual Status unkeep(const std::string &name) = 0;
    /// Content by blob id for a transaction (content not yet in fjord's object store).
    [[nodiscard]] virtual const BlobReader *blobs() = 0;
    /// The cache failed a check: moved aside (one log line says why); the next call starts a new one.
    virtual void reset(const std::string &why) = 0;
};

/// The real one: libgit2's cache at `cache_dir`, each remote-facing step in a sandboxed child
/// (sandbox/isolated.hpp). Opening is lazy: a host whose cache is gone still recovers.
[[nodiscard]] std::unique_ptr<Repo> git_repo(const SourceConfig &cfg, std::string cache_dir);

} // namespace fjord
