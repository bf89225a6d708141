// The engine's real ports: the Git cache and remote through sandboxed children, systemd over
// D-Bus, podman's REST API, real probes and clock, the registries, host facts, webhooks.
#include "facts/host_facts.hpp"
#include "host/podman.hpp"
#include "host/systemd.hpp"
#include "daemon/engine.hpp"
#include "daemon/notify.hpp"
#include "sandbox/fleet_isolated.hpp"
#include <ctime>

namespace fjord {

Ports Ports::real() {
    Ports p;
    p.repo = [](const SourceConfig &c, const std::string &dir) { return git_repo(c, dir); };
    p.systemd = [](const Config &c) { return connect_systemd(c.systemd.bus, c.health.timeout); };
    p.podman = [](const Config &c) { return podman_api(c.podman.socket, std::chrono::milliseconds(30'000)); };
    p.clock = []() -> Clock & {
        static SteadyClock clock;
        return clock;
    };
    p.registry = [](const Config &c) { return make_registry_client_for(c.podman.registry_auth_file); };
    p.facts = [] { return host_facts(); };
    p.notifier = [](const Config &c) { return std::make_unique<Notifier>(c.notify); };
    p.ls_refs = [](const fleet::LsRefsRequest &req) { return ls_refs_isolated(req); };
    p.now = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
    return p;
}

} // namespace fjord
