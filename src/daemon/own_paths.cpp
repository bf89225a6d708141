#include "daemon/own_paths.hpp"

#include "daemon/control.hpp"
#include <algorithm>
#include <climits>
#include <cstdlib>

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

std::vector<std::string> own_host_paths(const Config &cfg) {
    std::vector<std::string> owned = {cfg.state.dir, identity_path(cfg), cfg.source.ssh_key, cfg.source.ssh_key + ".pub",
                                      cfg.source.known_hosts, cfg.source.token_file, cfg.source.allowed_signers,
                                      cfg.podman.registry_auth_file, cfg.file, cfg.metrics_textfile, runtime_dir(cfg),
                                      control_socket_path(cfg)};
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

RenderOptions render_options(const Config &cfg) {
    RenderOptions ro;
    ro.host_path = cfg.source.path;
    ro.max_files = cfg.apply.max_files;
    ro.max_file_size = cfg.apply.max_file_size;
    ro.protect = cfg.apply.protect;
    ro.own = own_host_paths(cfg);
    return ro;
}

} // namespace fjord
