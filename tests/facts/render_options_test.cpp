// The render settings of a config, fjord's own paths among them.
#include "facts/render_options.hpp"

#include "config/own_paths.hpp"
#include <doctest/doctest.h>

using namespace fjord;

TEST_CASE("render_options: the host folder, limits, apply.protect and fjord's own paths of the config") {
    Config cfg;
    cfg.source.path = "hosts/web1";
    cfg.apply.root = "/srv/root";
    cfg.apply.max_files = 7;
    cfg.apply.max_file_size = 1024;
    cfg.apply.protect = {"/boot"};
    cfg.state.dir = "/srv/root/var/lib/fjord";
    RenderOptions ro = render_options(cfg);
    CHECK(ro.host_path == "hosts/web1");
    CHECK(ro.max_files == 7);
    CHECK(ro.max_file_size == 1024);
    CHECK(ro.protect == std::vector<std::string>{"/boot"});
    CHECK(ro.own == own_host_paths(cfg));
    CHECK_FALSE(ro.own.empty());
}
