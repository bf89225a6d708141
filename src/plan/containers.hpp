#pragma once
// The container side of a generation: each container's spec and the image it was deployed
// from, pinned by digest, so a rollback brings back the same bits even after a tag moved.
// Pure: the podman executor is apply/containers.hpp.
#include "manifest/desired_state.hpp"
#include "util/result.hpp"
#include <map>
#include <string>
#include <vector>

namespace fjord {

/// One container as a generation deployed it.
struct AppliedContainer {
    ContainerSpec spec;
    std::string image; ///< the reference created from: "repo@sha256:..." (registry) or an image id (local);
                       ///< "" until the apply resolves it (a pull)

    friend bool operator==(const AppliedContainer &, const AppliedContainer &) = default;
};

/// What happens to one container.
enum class ContainerChange { create, replace, remove };

struct ContainerStep {
    ContainerChange kind;
    std::string name;
    friend bool operator==(const ContainerStep &, const ContainerStep &) = default;
};

/// The spec as canonical JSON. `for_identity` leaves out what does not change the running
/// container (origin, update policy): that text, with the image, is the spec hash.
[[nodiscard]] std::string container_spec_json(const ContainerSpec &s, bool for_identity = false);
/// Parses container_spec_json's output (all fields).
[[nodiscard]] Result<ContainerSpec> container_spec_from_json(std::string_view text);
/// The value of the io.fjord.spec label: a hash of the spec's identity and the pinned image.
[[nodiscard]] std::string container_hash(const AppliedContainer &c);
/// True when two specs ask podman for the same container (origin and update policy aside).
[[nodiscard]] bool same_container(const ContainerSpec &a, const ContainerSpec &b);

/// The containers of the next generation and the steps to get there from `prev`. A container
/// whose spec did not change keeps prev's pinned image; one in `pins` with the same spec takes
/// the pinned image (a rollback to an older generation); every other gets image "" (pulled at
/// apply). Removals are listed first, then creations and replacements, by name.
[[nodiscard]] std::vector<ContainerStep> plan_containers(const std::map<std::string, AppliedContainer> &prev,
                                                         const std::map<std::string, ContainerSpec> &desired,
                                                         const std::map<std::string, AppliedContainer> *pins,
                                                         std::map<std::string, AppliedContainer> &next);

/// "container web: replace 127.0.0.1:5000/demo/bb:1.2 (spec changed)", for plans and history.
[[nodiscard]] std::string describe(const ContainerStep &s, const std::map<std::string, AppliedContainer> &prev,
                                   const std::map<std::string, AppliedContainer> &next);

} // namespace fjord
