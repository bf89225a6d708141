#include "cli/fleet_cmd.hpp"

#include "cli/tty.hpp"
#include "fleet/fleet_toml.hpp"
#include "fleet/status_read.hpp"
#include "sandbox/fleet_isolated.hpp"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <unistd.h>

namespace fjord {

namespace {

/// The wave names of `commit`'s fleet.toml, read from the host's Git cache in a sandboxed child;
/// empty when there is no cache, no such commit or no (valid) fleet.toml.
std::vector<std::string> wave_order(const Config &cfg, const std::string &commit) {
    std::string cache = cfg.state.dir + "/repo";
    if (::access((cache + "/HEAD").c_str(), R_OK) != 0) return {}; // never made here
    auto src = GitSource::open(cfg.source, cache);
    if (!src) return {};
    auto text = root_file_isolated(**src, commit, std::string(fleet::fleet_toml_name), fleet::max_fleet_toml_bytes);
    if (!text || !*text) return {};
    auto policy = fleet::parse_fleet_toml(**text, std::string(fleet::fleet_toml_name));
    if (!policy) return {};
    std::vector<std::string> names;
    for (const auto &w : policy->waves) names.push_back(w.name);
    return names;
}

} // namespace

int run_fleet(const Config &cfg, const std::string &url, const std::string &commit, bool json) {
    SourceConfig remote;
    remote.url = url.empty() ? cfg.report.url : url;
    if (remote.url.empty()) {
        std::fprintf(stderr, "fjordctl: fleet: no status repository: set [report] url in the configuration or give --url URL\n");
        return 2;
    }
    remote.ssh_key = cfg.report.ssh_key;
    remote.known_hosts = cfg.report.known_hosts;
    // A scratch cache, gone when this ends: the view is of the status repo now, nothing kept.
    std::string tmpl = (std::filesystem::temp_directory_path() / "fjord-fleet-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
        std::fprintf(stderr, "fjordctl: fleet: cannot make a scratch folder in %s\n", std::filesystem::temp_directory_path().c_str());
        return 1;
    }
    struct Scratch {
        std::string dir;
        ~Scratch() {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    } scratch{tmpl};
    auto read = read_status_repo_isolated(remote, scratch.dir);
    if (!read) {
        std::fprintf(stderr, "fjordctl: fleet: %s\n", tty_lines(read.error().message).c_str());
        return 1;
    }
    std::int64_t now = std::time(nullptr);
    auto heartbeat = std::chrono::duration_cast<std::chrono::seconds>(cfg.report.heartbeat).count();
    auto view = fleet::build_view(*read, now, heartbeat, 3, commit);
    // Waves in rollout order: the newest commit's fleet.toml, when this machine's Git cache has
    // it (on a host); otherwise by name, and said so.
    if (view && !view->commits.empty()) {
        auto order = wave_order(cfg, view->commits.front().commit);
        if (!order.empty()) view = fleet::build_view(*read, now, heartbeat, 3, commit, order);
        else if (view->commits.front().waves.size() > 1)
            view->problems.push_back("waves are listed by name: fleet.toml of commit " + view->commits.front().commit.substr(0, 7) +
                                     " is not in this machine's Git cache (" + cfg.state.dir + "/repo), so their order is not known");
    }
    if (!view) {
        std::fprintf(stderr, "fjordctl: fleet: %s\n", tty_lines(view.error().message).c_str());
        return view.error().code == Errc::invalid ? 2 : 1;
    }
    std::string out = json ? fleet::view_json(*view, now) : fleet::view_text(*view, now);
    std::fputs(json ? out.c_str() : tty_lines(out).c_str(), stdout);
    return 0;
}

} // namespace fjord
