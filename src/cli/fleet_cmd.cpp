#include "cli/fleet_cmd.hpp"

#include "cli/tty.hpp"
#include "fleet/status_read.hpp"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

namespace fjord {

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
    auto read = fleet::read_status_repo(remote, scratch.dir + "/cache");
    if (!read) {
        std::fprintf(stderr, "fjordctl: fleet: %s\n", tty_lines(read.error().message).c_str());
        return 1;
    }
    std::int64_t now = std::time(nullptr);
    auto view = fleet::build_view(*read, now, std::chrono::duration_cast<std::chrono::seconds>(cfg.report.heartbeat).count(), 3, commit);
    if (!view) {
        std::fprintf(stderr, "fjordctl: fleet: %s\n", tty_lines(view.error().message).c_str());
        return view.error().code == Errc::invalid ? 2 : 1;
    }
    std::string out = json ? fleet::view_json(*view, now) : fleet::view_text(*view, now);
    std::fputs(json ? out.c_str() : tty_lines(out).c_str(), stdout);
    return 0;
}

} // namespace fjord
