#include "config/own_paths.hpp"

#include "util/hash.hpp"
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string_view>
#include <unistd.h>

namespace fjord {
namespace {

std::string resolved(const std::string &p) {
    char buf[PATH_MAX];
    if (!::realpath(p.c_str(), buf)) return {};
    return buf;
}

// `p` as a path below `root` ("/var/lib/fjord" under root "/srv/r" is "/var/lib/fjord" when
// p is "/srv/r/var/lib/fjord"), or "" when it is not below it.
std::string under_root(const std::string &root, const std::string &p) {
    if (p.empty() || p[0] != '/') return {};
    if (root == "/") return p;
    if (p.size() > root.size() && p.compare(0, root.size(), root) == 0 && p[root.size()] == '/') return p.substr(root.size());
    return {};
}

} // namespace

std::string identity_path(const Config &cfg) {
    if (cfg.secrets.identity == SecretsConfig{}.identity && cfg.state.dir != StateConfig{}.dir) return cfg.state.dir + "/age/identity";
    return cfg.secrets.identity;
}

std::string control_socket_path(const Config &cfg) {
    if (cfg.state.dir == "/var/lib/fjord") return "/run/fjord/control.sock";
    return cfg.state.dir + "/control.sock";
}

std::string runtime_dir(const Config &cfg) {
    if (cfg.state.dir == "/var/lib/fjord") {
        const char *rd = std::getenv("RUNTIME_DIRECTORY");
        return rd && rd[0] == '/' && std::string_view(rd).find(':') == std::string_view::npos ? rd : "/run/fjord";
    }
    const std::string name = "/fjord-" + blob_id(cfg.state.dir).substr(0, 12);
    if (::geteuid() == 0) return "/run" + name;
    // Not root (tests, demos): /run is not ours; the user's runtime folder, else the state dir
    // (private to fjord: 0700).
    const char *xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/') return xdg + name;
    return cfg.state.dir + "/run";
}

std::vector<std::string> own_host_paths(const Config &cfg) {
    std::vector<std::string> owned = {cfg.state.dir, identity_path(cfg), cfg.source.ssh_key, cfg.source.ssh_key + ".pub",
                                      cfg.source.known_hosts, cfg.source.token_file, cfg.source.allowed_signers,
                                      cfg.podman.registry_auth_file, cfg.file, cfg.metrics_textfile, runtime_dir(cfg),
                                      control_socket_path(cfg)};
    for (const auto &n : cfg.notify) owned.push_back(n.token_file);
    std::vector<std::string> roots = {cfg.apply.root};
    if (auto r = resolved(cfg.apply.root); !r.empty() && r != cfg.apply.root) roots.push_back(r);
    std::vector<std::string> out;
    for (const auto &p : owned) {
        if (p.empty()) continue;
        for (const std::string &abs : {p, resolved(p)})
            for (const auto &root : roots)
                if (auto h = under_root(root, abs); !h.empty() && h != "/") out.push_back(h);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace fjord
