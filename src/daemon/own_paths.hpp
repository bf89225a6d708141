#pragma once
// What fjord owns on the host: its state, keys, identity, config, control socket, runtime
// folder and metrics file. A commit can never write or mount them, whatever apply.protect says
// (DESIGN.md §7.9): a repo that could rewrite `current` or the age identity would wedge or take
// over the agent, and one that could rewrite the config or allowed_signers would switch off the
// checks that judge it.
#include "config/config.hpp"
#include "manifest/render.hpp"
#include <string>
#include <vector>

namespace fjord {

/// Where the host identity lives: secrets.identity, except that its default follows a state.dir
/// moved elsewhere (STATE_DIR/age/identity), as the control socket does, so that tests and
/// side-by-side agents never share /var/lib/fjord.
[[nodiscard]] std::string identity_path(const Config &cfg);

/// The host paths (as seen under apply.root, so comparable with repo paths) of everything
/// fjord owns that lies below apply.root, each also by its resolved path when a symlink leads
/// there. Paths outside apply.root are left out: no commit can reach them.
[[nodiscard]] std::vector<std::string> own_host_paths(const Config &cfg);

/// The render settings of `cfg`: host folder, limits, apply.protect and fjord's own paths.
/// Every render (a sync, image automation, fjordctl render and validate) starts from these.
[[nodiscard]] RenderOptions render_options(const Config &cfg);

} // namespace fjord
