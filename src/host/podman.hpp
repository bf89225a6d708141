#pragma once
// The narrow podman interface fjord needs: pull and look at images, create, start, stop,
// rename and remove containers, run a container's healthcheck. The real one speaks the libpod
// REST API on podman's unix socket (podman_api.cpp); tests of the logic use a fake.
#include "manifest/desired_state.hpp"
#include "util/result.hpp"
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fjord {

/// A local image.
struct PodmanImage {
    std::string id;                        ///< the image id (config digest, hex)
    std::vector<std::string> repo_digests; ///< "repo@sha256:..." it is known by
};

/// A container as podman sees it.
struct PodmanContainer {
    std::string id, name;
    bool running = false;
    std::string state;                        ///< "running", "exited", "created", ...
    std::string image_id;
    std::map<std::string, std::string> labels;
};

/// Labels fjord puts on every container it creates; containers without them are never touched.
inline constexpr const char *label_managed_by = "io.fjord.managed-by";
inline constexpr const char *label_spec = "io.fjord.spec";

/// What a create asks for: the spec, the name to create under and the image reference.
struct PodmanCreate {
    std::string name;
    std::string image; ///< the pinned reference (digest or id), never the moving tag
    const ContainerSpec *spec = nullptr;
    std::map<std::string, std::string> labels; ///< spec labels plus fjord's own
    /// The host side of each of spec->volumes, in order: the spec's host path below apply.root,
    /// as files are ("/srv/data" with root "/var/lib/t" is "/var/lib/t/srv/data").
    std::vector<std::string> volume_sources;
};

class Podman {
  public:
    virtual ~Podman() = default;
    /// Pulls `ref` from its registry; a pull that fails (even with HTTP 200) is an error.
    [[nodiscard]] virtual Status pull(const std::string &ref) = 0;
    /// The local image `ref` names, or nullopt when there is none.
    [[nodiscard]] virtual Result<std::optional<PodmanImage>> image(const std::string &ref) = 0;
    /// The container named `name`, or nullopt.
    [[nodiscard]] virtual Result<std::optional<PodmanContainer>> inspect(const std::string &name) = 0;
    [[nodiscard]] virtual Status create(const PodmanCreate &c) = 0;
    [[nodiscard]] virtual Status start(const std::string &name) = 0;
    [[nodiscard]] virtual Status stop(const std::string &name) = 0;
    [[nodiscard]] virtual Status remove(const std::string &name) = 0;
    [[nodiscard]] virtual Status rename(const std::string &from, const std::string &to) = 0;
    /// Runs the container's healthcheck once: "healthy", "unhealthy", or an error.
    [[nodiscard]] virtual Result<std::string> healthcheck(const std::string &name) = 0;
};

/// The libpod API (v4.0.0) on `socket`; no connection is made until the first call. Each call
/// is bounded by `timeout` (pulls by ten times that), answers by 8 MiB.
[[nodiscard]] std::unique_ptr<Podman> podman_api(std::string socket, std::chrono::milliseconds timeout);

} // namespace fjord
