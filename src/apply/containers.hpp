#pragma once
// The podman side of a transaction. prepare_containers runs before anything on the host
// changes (pulls, digests, name clashes); converge_containers then makes podman run exactly a
// generation's containers. Converging is idempotent, so apply, rollback and crash recovery all
// use it: recovery converges back to the previous generation from its specs and pinned images.
#include "host/podman.hpp"
#include "plan/generation.hpp"

namespace fjord {

/// Pulls the image of every container in `next` that has none pinned yet and pins it by
/// digest; checks that no container fjord did not create holds a name `next` needs. Changes
/// no container. Errors name the container and the reason.
[[nodiscard]] Status prepare_containers(Podman &podman, std::map<std::string, AppliedContainer> &next);

/// Makes podman run `target`'s containers exactly (spec and pinned image), and removes the
/// fjord-made containers named in `others` that `target` does not have. A container that
/// differs is replaced: the new one is created under NAME-fjord-new (while the old one still
/// runs, so a create error leaves it running), then the old one is stopped and removed, the
/// new one renamed and started. Containers without fjord's label are never touched.
/// A volume's host path is below `root` (apply.root), as files are.
[[nodiscard]] Status converge_containers(Podman &podman, const std::map<std::string, AppliedContainer> &target,
                                         const std::map<std::string, AppliedContainer> &others,
                                         const std::string &root = "/");

/// Where podman finds a volume's host path `host` ("/srv/data") under apply.root `root`.
[[nodiscard]] std::string volume_source(const std::string &root, const std::string &host);

/// The pinned reference of `ref` after it was pulled: "repo@sha256:..." as the registry
/// serves it (a local "localhost/..." image: its id). Exposed for tests.
[[nodiscard]] Result<std::string> resolve_image(Podman &podman, const std::string &ref);

} // namespace fjord
