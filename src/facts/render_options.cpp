#include "facts/render_options.hpp"

#include "config/own_paths.hpp"

namespace fjord {

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
