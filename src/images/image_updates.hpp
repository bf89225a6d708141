#pragma once
// Image automation's memory and its decision (issue 5, item 4). For each container with an
// update policy fjord keeps, in STATE_DIR/images (JSON, written tmp -> fsync -> rename):
// the image and policy last seen in Git, the tag deployed now, the tags that failed their
// health checks (never retried), and when the registry was last asked and what went wrong.
//
// The flow the daemon runs every podman.registry_poll_interval:
//   auto store = ImageUpdateStore::load(state_dir);          // once, at start
//   ImageCheck c = check_image_updates(*store, specs, client, now);  // asks the registries
//   store->save();
//   for each c.updates[i]: deploy a generation whose container runs updates[i].image
//     (pinned by updates[i].digest); checks pass -> store->mark_deployed(name, tag, digest),
//     checks fail and it rolls back -> store->mark_bad(name, tag); then store->save().
// Rendering a container uses store->effective_image(spec), so a tag chosen by automation
// survives a restart of fjordd and a later commit that does not touch the image.
#include "images/registry.hpp"
#include "util/result.hpp"
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fjord {

/// What fjord remembers of one container's image automation.
struct ContainerImageState {
    std::string image;          ///< the image as Git's spec writes it; its tag is where automation starts
    std::string policy;         ///< the update policy, as last seen in Git
    std::string current_tag;    ///< the tag automation deployed; "" = the spec's own tag
    std::string current_digest; ///< its manifest digest, when known
    std::set<std::string> bad_tags; ///< tags that failed their checks: never picked again
    std::int64_t last_check = 0;    ///< seconds since the epoch of the last registry check (0 = never)
    std::string last_error;         ///< why the last check failed; "" when it worked
    /// A deploy in flight, recorded before its apply: the image, tag and digest it runs. A crash
    /// (or a failed save) after the generation is committed leaves it here; settle_pending()
    /// at the next start makes it the current tag when the current generation runs it.
    std::string pending_image, pending_tag, pending_digest;
    friend bool operator==(const ContainerImageState &, const ContainerImageState &) = default;
};

/// A container as the desired state names it: the input of a check.
struct ContainerImageSpec {
    std::string name;   ///< "web"
    std::string image;  ///< "127.0.0.1:5000/demo/bb:1.2.1"
    std::string update; ///< "glob:1.2.*", "semver:~1.2", or "" (pinned)
};

/// One update to deploy.
struct ImageUpdate {
    std::string container; ///< "web"
    std::string image;     ///< the new reference, "127.0.0.1:5000/demo/bb:1.2.2"
    std::string old_tag;   ///< "1.2.1"
    std::string new_tag;   ///< "1.2.2"
    std::string policy;    ///< "glob:1.2.*"
    std::string digest;    ///< the new tag's manifest digest when checked ("sha256:…")
    /// "web: 1.2.1 -> 1.2.2 (glob:1.2.*)", for status, history and the journal.
    [[nodiscard]] std::string summary() const;
};

/// What one check found: updates to deploy, and one error per container that could not be checked.
struct ImageCheck {
    std::vector<ImageUpdate> updates;
    std::vector<Error> errors; ///< each message starts "container NAME: "
};

/// The persistent state, STATE_DIR/images.
class ImageUpdateStore {
  public:
    /// Reads STATE_DIR/images (missing: empty). A corrupt file is moved aside to
    /// images.broken and the state starts empty; warning() then says so. Errc::io otherwise.
    [[nodiscard]] static Result<ImageUpdateStore> load(const std::string &state_dir);
    /// Writes the state crash-safely (tmp -> fsync -> rename -> fsync of the folder), mode 0600.
    [[nodiscard]] Status save() const;

    /// The state of one container, or nullptr.
    [[nodiscard]] const ContainerImageState *find(const std::string &name) const;
    /// Every container's state, by name.
    [[nodiscard]] const std::map<std::string, ContainerImageState> &all() const { return containers_; }
    /// The image the container should run now: the spec's repository at the tag automation
    /// deployed, or the spec's image itself (no automation yet, or Git changed the image since).
    [[nodiscard]] std::string effective_image(const ContainerImageSpec &spec) const;
    /// `tag` failed its checks: it is never picked again for this container.
    void mark_bad(const std::string &name, const std::string &tag);
    /// `tag` (with its digest) is deployed and passed its checks.
    void mark_deployed(const std::string &name, const std::string &tag, const std::string &digest);
    /// Records `u` as in flight for its container (save() before the apply).
    void set_pending(const ImageUpdate &u);
    /// Forgets a deploy in flight that ended without being deployed.
    void clear_pending(const std::string &name);
    /// At start: each deploy still in flight whose container the current generation runs at
    /// the pending image (`running`: container name -> image reference) is marked deployed;
    /// any other is dropped. Returns whether anything changed (then save()).
    [[nodiscard]] bool settle_pending(const std::map<std::string, std::string> &running);
    /// Non-empty when load() found a corrupt file and moved it aside (for one log line).
    [[nodiscard]] const std::string &warning() const { return warning_; }

    /// The file's text for this state, and back (exposed for tests).
    [[nodiscard]] std::string to_json() const;
    [[nodiscard]] static Result<std::map<std::string, ContainerImageState>> parse(const std::string &text);

    /// Lines up the state with Git's specs: drops containers no longer there, adds new ones,
    /// and when a spec's image changed, starts again from its tag (bad tags of the same
    /// repository are kept). check_image_updates calls it first.
    void sync_specs(const std::vector<ContainerImageSpec> &specs);

  private:
    friend ImageCheck check_image_updates(ImageUpdateStore &, const std::vector<ContainerImageSpec> &,
                                          RegistryClient &, std::int64_t);
    std::string path_;
    std::string warning_;
    std::map<std::string, ContainerImageState> containers_;
};

/// Whether a deploy of a tag that failed was the tag's own fault, so it is marked bad for good:
/// its checks or post-apply hook failed, or its content is invalid (Errc::invalid), or its
/// generation was applied and rolled back on a podman error while podman still answers (a
/// container that will not start). A failed pull, podman or a registry out of reach
/// (Errc::network, Errc::io), a refusal or a halt is not: the tag is tried again at the next check.
[[nodiscard]] bool tag_failed_itself(Errc code, bool rolled_back, bool podman_answers);

/// Asks the registries for the newest tag each container's policy allows (skipping bad tags
/// and never going below the tag deployed now) and returns what to deploy. Records the time
/// and error of each check in the store (the caller saves it). Pinned containers ("") are
/// not asked about. The store's current tags change only through mark_deployed.
[[nodiscard]] ImageCheck check_image_updates(ImageUpdateStore &store, const std::vector<ContainerImageSpec> &specs,
                                             RegistryClient &registry, std::int64_t now);

} // namespace fjord
