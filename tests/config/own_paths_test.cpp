// fjord's own paths, as its config places them: the socket, runtime folder and identity follow a
// state.dir moved elsewhere, and what lies below apply.root is named as a host path.
#include "config/own_paths.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace fjord;

TEST_CASE("the default state.dir keeps the default places") {
    Config cfg;
    CHECK(control_socket_path(cfg) == "/run/fjord/control.sock");
    CHECK(identity_path(cfg) == "/var/lib/fjord/age/identity");
}

TEST_CASE("a state.dir elsewhere takes the socket, runtime folder and default identity with it") {
    Config cfg;
    cfg.state.dir = "/srv/agent-a/state";
    CHECK(control_socket_path(cfg) == "/srv/agent-a/state/control.sock");
    CHECK(identity_path(cfg) == "/srv/agent-a/state/age/identity");
    CHECK(runtime_dir(cfg).rfind("/run/fjord-", 0) == 0);
    Config other = cfg;
    other.state.dir = "/srv/agent-b/state";
    CHECK(runtime_dir(other) != runtime_dir(cfg));
    cfg.secrets.identity = "/etc/fjord/identity"; // set by hand: kept as it is
    CHECK(identity_path(cfg) == "/etc/fjord/identity");
}

TEST_CASE("own host paths are those below apply.root, as host paths") {
    Config cfg;
    cfg.apply.root = "/srv/root";
    cfg.state.dir = "/srv/root/var/lib/fjord";
    cfg.file = "/etc/fjord/fjord.toml"; // outside apply.root: no commit reaches it
    cfg.metrics_textfile = "";
    auto own = own_host_paths(cfg);
    CHECK(std::find(own.begin(), own.end(), "/var/lib/fjord") != own.end());
    CHECK(std::find(own.begin(), own.end(), "/var/lib/fjord/control.sock") != own.end());
    CHECK(std::find(own.begin(), own.end(), "/etc/fjord/fjord.toml") == own.end());
    CHECK(std::is_sorted(own.begin(), own.end()));
    // A [[notify]] token file under apply.root is fjord's: no commit may overwrite or read it out.
    cfg.notify = {NotifyConfig{"https://h/x", {"applied"}, NotifyFormat::json, "/srv/root/etc/fjord/hook.token"}};
    own = own_host_paths(cfg);
    CHECK(std::find(own.begin(), own.end(), "/etc/fjord/hook.token") != own.end());
}
