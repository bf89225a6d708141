#include "daemon/repo.hpp"

#include "sandbox/fleet_isolated.hpp"
#include "sandbox/isolated.hpp"
#include "daemon/log.hpp"
#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace fjord {
namespace {

class GitRepo final : public Repo {
  public:
    GitRepo(SourceConfig cfg, std::string cache_dir) : cfg_(std::move(cfg)), dir_(std::move(cache_dir)) {}

    Result<RemoteHead> poll() override {
        FJORD_TRY(open());
        return poll_isolated(*git_, cfg_);
    }
    Status fetch(const RemoteHead &head) override {
        FJORD_TRY(open());
        return fetch_isolated(*git_, head);
    }
    Status verify() override {
        FJORD_TRY(open());
        return verify_isolated(*git_);
    }
    Result<bool> descends(const std::string &commit, const std::string &ancestor) override {
        FJORD_TRY(open());
        return descends_isolated(*git_, commit, ancestor);
    }
    Result<DesiredState> render(const std::string &commit, const RenderOptions &opts) override {
        FJORD_TRY(open());
        return render_isolated(*git_, commit, opts);
    }
    Result<std::optional<std::string>> root_file(const std::string &commit, const std::string &name, std::uint64_t max) override {
        FJORD_TRY(open());
        return root_file_isolated(*git_, commit, name, max);
    }
    Result<Signer> signer(const std::string &commit, const std::string &allowed_signers) override {
        FJORD_TRY(open());
        return verify_commit_signature(*git_, commit, allowed_signers);
    }
    Result<CommitInfo> commit_info(const std::string &commit) override {
        FJORD_TRY(open());
        return git_->commit_info(commit);
    }
    Status keep(const std::string &name, const std::string &commit) override {
        FJORD_TRY(open());
        return git_->keep(name, commit);
    }
    Status unkeep(const std::string &name) override {
        FJORD_TRY(open());
        return git_->unkeep(name);
    }
    const BlobReader *blobs() override { return open() ? git_.get() : nullptr; }

    void reset(const std::string &why) override {
        git_.reset();
        std::string broken = dir_ + ".broken";
        std::error_code ec;
        std::filesystem::remove_all(broken, ec); // one damaged copy is kept, for a look
        if (::rename(dir_.c_str(), broken.c_str()) < 0 && errno != ENOENT) std::filesystem::remove_all(dir_, ec);
        log_warning("Git cache " + dir_ + " failed an integrity check (" + why + "); moved to " + broken + " and cloned again");
    }

  private:
    Status open() {
        if (git_) return {};
        auto g = GitSource::open(cfg_, dir_);
        if (!g && g.error().code == Errc::io) {
            // A cache that cannot even be opened (a damaged HEAD or config) is fjord's own data:
            // moved aside and started afresh, never a reason to stop.
            reset(g.error().message);
            g = GitSource::open(cfg_, dir_);
        }
        if (!g) return fail(std::move(g.error()));
        // The engine holds the state lock, so a ref lock in the cache is left over from a killed fetch.
        if (auto c = (*g)->clear_stale_locks(); !c) log_warning("clear stale Git locks: " + c.error().message + ", ignoring");
        git_ = std::move(*g);
        return {};
    }

    SourceConfig cfg_;
    std::string dir_;
    std::unique_ptr<GitSource> git_;
};

} // namespace

std::unique_ptr<Repo> git_repo(const SourceConfig &cfg, std::string cache_dir) {
    return std::make_unique<GitRepo>(cfg, std::move(cache_dir));
}

} // namespace fjord
