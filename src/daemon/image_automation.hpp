#pragma once
// Image automation (issue 5): for containers whose spec has `update = "glob:1.2.*"`, the
// registries are asked for newer tags every podman.registry_poll_interval; each newer tag is
// deployed by the engine as its own generation of the current commit (its image_update stage),
// under the same transaction, checks and rollback as a commit. This object keeps the choices
// (STATE_DIR/images) and hands the pipeline the desired image set: a render runs the chosen
// tags, so a choice survives restarts and later commits that keep the image.
#include "images/image_updates.hpp"
#include "manifest/desired_state.hpp"
#include "plan/generation.hpp"
#include <memory>
#include <string>
#include <vector>

namespace fjord {

struct AgentStatus;

/// Image automation's memory and its registry client.
class ImageAutomation {
  public:
    /// Loads STATE_DIR/images (a damaged one is moved aside, said once); off when it cannot be read.
    void load(const std::string &state_dir);
    [[nodiscard]] bool on() const { return store_ != nullptr; }
    /// A deploy recorded as pending becomes the chosen tag when the current generation runs it.
    void settle(const Generation *cur);
    /// The chosen tags as text: part of the render key, so a new choice renders again.
    [[nodiscard]] std::string key() const;
    /// The desired image set: each container with an update policy runs its chosen tag. Returns
    /// the specs as Git wrote them.
    std::vector<ContainerImageSpec> use_chosen(DesiredState &d) const;
    /// After a commit applied (or changed nothing): the choices follow Git's specs.
    void follow(const std::vector<ContainerImageSpec> &git);
    /// Asks the registries (`client`, made by the caller when needed) about `git`'s containers.
    [[nodiscard]] ImageCheck check(const std::vector<ContainerImageSpec> &git, RegistryClient &client, std::int64_t now, bool dry_run);
    /// Registry errors, logged when they differ from the last ones; kept in the status.
    void note_errors(const std::vector<Error> &errors, AgentStatus &status);
    /// A deploy about to start, recorded before the host is touched (crash-safe); false when it
    /// could not be saved (then nothing is deployed).
    [[nodiscard]] Status start(const ImageUpdate &u);
    /// A deploy's end: the tag chosen, marked bad, or neither (a transient failure).
    void end(const ImageUpdate &u, bool deployed, bool bad);

  private:
    void save();
    std::unique_ptr<ImageUpdateStore> store_;
    std::string logged_; ///< the registry errors last logged
};

/// The registry client for podman.registry_auth_file's logins (anonymous without one).
[[nodiscard]] Result<std::unique_ptr<RegistryClient>> make_registry_client_for(const std::string &registry_auth_file);

} // namespace fjord
