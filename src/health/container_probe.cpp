// A container check: podman says the container runs and, when the spec has a healthcheck,
// that it passes. The healthcheck runs through the API on each attempt, since podman's own
// periodic runs need systemd timers that hosts without systemd (and tests) do not have.
#include "health/probes.hpp"

namespace fjord {
namespace {

class ContainerProbe final : public Probe {
  public:
    ContainerProbe(Podman &podman, std::string name, bool healthcheck)
        : podman_(podman), name_(std::move(name)), healthcheck_(healthcheck) {}
    std::string target() const override { return "container " + name_; }
    ProbeResult run(std::chrono::milliseconds) override {
        auto c = podman_.inspect(name_);
        if (!c) return {false, c.error().message};
        if (!*c) return {false, "no such container"};
        if (!(*c)->running) return {false, "not running (" + ((*c)->state.empty() ? "stopped" : (*c)->state) + ")"};
        if (!healthcheck_) return {true, "running"};
        auto h = podman_.healthcheck(name_);
        if (!h) return {false, h.error().message};
        if (*h != "healthy") return {false, "running, healthcheck " + *h};
        return {true, "running, healthy"};
    }

  private:
    Podman &podman_;
    std::string name_;
    bool healthcheck_;
};

} // namespace

std::unique_ptr<Probe> container_probe(Podman &podman, std::string name, bool healthcheck) {
    return std::make_unique<ContainerProbe>(podman, std::move(name), healthcheck);
}

} // namespace fjord
