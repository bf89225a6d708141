#pragma once
// The render settings of the agent config: the manifest layer knows no Config (RenderOptions are
// values), so fjordd and fjordctl build them here, fjord's own paths (config/own_paths.hpp) among them.
#include "config/config.hpp"
#include "manifest/render.hpp"

namespace fjord {

/// The render settings of `cfg`: host folder, limits, apply.protect and fjord's own paths.
/// Every render (a sync, image automation, fjordctl render and validate) starts from these.
[[nodiscard]] RenderOptions render_options(const Config &cfg);

} // namespace fjord
