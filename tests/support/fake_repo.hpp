#pragma once
// The Git side for the engine's tests: commits scripted as desired states (or render errors),
// a head the poll answers, ancestry from each commit's parent, failures on demand, and counts
// of what the engine asked.
#include "daemon/repo.hpp"
#include "util/hash.hpp"
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace fjord::test {

class FakeRepo final : public BlobReader {
  public:
    struct Commit {
        DesiredState state;
        std::string parent;
        std::string subject;
        std::optional<Error> render_error; ///< every render of it fails so
    };
    std::map<std::string, Commit> commits;
    std::map<std::string, std::string> blob_store; ///< content by blob id
    std::string head;                              ///< what a poll answers ("" = no branch)
    std::string ref = "refs/heads/main";
    std::optional<Error> poll_error, fetch_error, verify_error, signer_error;
    std::deque<Error> render_errors;     ///< the next renders fail so, one each, before the commit's own
    std::set<std::string> lost;          ///< commits the cache lost: descends() says corrupt
    std::optional<Error> descends_error; ///< the ancestry check itself fails so
    bool heal_on_reset = true;           ///< a cache cloned again has none of the damage above
    std::string signer = "SHA256:fake";  ///< who signed, when no signer_error
    int polls = 0, fetches = 0, renders = 0, resets = 0, verifies = 0;
    std::map<std::string, std::string> kept; ///< keep refs: name -> commit
    std::map<std::string, std::string> root_files; ///< "COMMIT:NAME" -> content at the repo's root (fleet.toml)

    /// A file spec whose content the cache holds.
    FileSpec file(const std::string &path, const std::string &content, unsigned mode = 0644) {
        FileSpec f;
        f.path = path;
        f.id = blob_id(content);
        f.mode = mode;
        // Owned by whoever runs the test, so the engine tests need no root.
        if (const passwd *pw = ::getpwuid(::geteuid())) f.owner = pw->pw_name;
        if (const group *gr = ::getgrgid(::getegid())) f.group = gr->gr_name;
        f.origin = "hosts/h/files" + path;
        blob_store[f.id] = content;
        return f;
    }
    /// A new commit on top of the head (or of `parent`), holding `d`; it becomes the head.
    std::string commit(DesiredState d, const std::string &subject = "change", std::optional<std::string> parent = std::nullopt) {
        std::string id = blob_id("commit " + std::to_string(commits.size()) + " " + subject);
        d.commit = id;
        commits[id] = Commit{std::move(d), parent.value_or(head), subject, std::nullopt};
        head = id;
        return id;
    }

    Result<std::string> read_blob(const std::string &id, std::uint64_t) const override {
        auto it = blob_store.find(id);
        if (it == blob_store.end()) return fail(Errc::corrupt, "blob " + id + " is missing from the Git cache");
        return it->second;
    }
};

/// What the engine holds: forwards to a FakeRepo the test keeps.
class RepoProxy final : public Repo {
  public:
    explicit RepoProxy(FakeRepo &f) : f_(f) {}
    Result<RemoteHead> poll() override {
        ++f_.polls;
        if (f_.poll_error) return fail(*f_.poll_error);
        if (f_.head.empty()) return fail(Errc::not_found, "poll: no branch 'main' on the remote");
        return RemoteHead{f_.ref, f_.head};
    }
    Status fetch(const RemoteHead &) override {
        ++f_.fetches;
        if (f_.fetch_error) return fail(*f_.fetch_error);
        return {};
    }
    Status verify() override {
        ++f_.verifies;
        if (f_.verify_error) return fail(*f_.verify_error);
        return {};
    }
    Result<bool> descends(const std::string &commit, const std::string &ancestor) override {
        if (f_.descends_error) return fail(*f_.descends_error);
        if (f_.lost.count(commit) || f_.lost.count(ancestor)) return fail(Errc::corrupt, "commit lost from the Git cache");
        if (!f_.commits.count(ancestor)) return fail(Errc::not_found, "commit " + ancestor + " is not in the Git cache");
        for (std::string c = commit; !c.empty(); c = f_.commits.count(c) ? f_.commits[c].parent : "")
            if (c == ancestor) return true;
        return false;
    }
    Result<DesiredState> render(const std::string &commit, const RenderOptions &opts) override {
        ++f_.renders;
        if (!f_.render_errors.empty()) {
            Error e = f_.render_errors.front();
            f_.render_errors.pop_front();
            return fail(std::move(e));
        }
        auto it = f_.commits.find(commit);
        if (it == f_.commits.end()) return fail(Errc::corrupt, "commit " + commit + " is missing from the Git cache");
        if (it->second.render_error) return fail(*it->second.render_error);
        // What the renderer itself refuses (apply.protect, fjord's own paths) is refused here too.
        for (const auto &[p, f] : it->second.state.files)
            for (const auto &own : opts.own)
                if (p == own || p.rfind(own + "/", 0) == 0)
                    return fail(Errc::refused, f.origin + ": " + p + " is fjord's own " + own + ": a commit can never write it");
        return it->second.state;
    }
    Result<std::optional<std::string>> root_file(const std::string &commit, const std::string &name, std::uint64_t) override {
        auto it = f_.root_files.find(commit + ":" + name);
        if (it == f_.root_files.end()) return std::optional<std::string>{};
        return std::optional<std::string>(it->second);
    }
    Result<Signer> signer(const std::string &, const std::string &) override {
        if (f_.signer_error) return fail(*f_.signer_error);
        return Signer{f_.signer, "ops", "allowed_signers:1"};
    }
    Result<CommitInfo> commit_info(const std::string &commit) override {
        auto it = f_.commits.find(commit);
        if (it == f_.commits.end()) return fail(Errc::not_found, "no commit");
        return CommitInfo{commit, it->second.subject, "t <t@x>", 1};
    }
    Status keep(const std::string &name, const std::string &commit) override {
        f_.kept[name] = commit;
        return {};
    }
    Status unkeep(const std::string &name) override {
        f_.kept.erase(name);
        return {};
    }
    const BlobReader *blobs() override { return &f_; }
    void reset(const std::string &) override {
        ++f_.resets;
        if (!f_.heal_on_reset) return;
        f_.fetch_error.reset();
        f_.verify_error.reset();
        f_.lost.clear();
    }

  private:
    FakeRepo &f_;
};

} // namespace fjord::test
