#pragma once
// Where fjord's own things are, as its config places them: the state, keys and identity, the
// config itself, the control socket, the runtime folder and the metrics file. A commit can never
// write or mount them, whatever apply.protect says (DESIGN.md §7.9): a repo that could rewrite
// `current` or the age identity would wedge or take over the agent, and one that could rewrite
// the config or allowed_signers would switch off the checks that judge it.
#include "config/config.hpp"
#include <string>
#include <vector>

namespace fjord {

/// Where the host identity lives: secrets.identity, except that its default follows a state.dir
/// moved elsewhere (STATE_DIR/age/identity), as the control socket does, so that tests and
/// side-by-side agents never share /var/lib/fjord.
[[nodiscard]] std::string identity_path(const Config &cfg);

/// /run/fjord/control.sock for the default state.dir; STATE_DIR/control.sock otherwise, so
/// several fjordd (tests, demos) can run side by side.
[[nodiscard]] std::string control_socket_path(const Config &cfg);

/// fjordd's runtime folder, in memory: $RUNTIME_DIRECTORY under systemd (RuntimeDirectory=fjord,
/// removed when the service stops), /run/fjord for the default state.dir, else a folder named
/// after state.dir under /run (several agents side by side never share one); not as root,
/// $XDG_RUNTIME_DIR/fjord-HASH or else STATE_DIR/run.
[[nodiscard]] std::string runtime_dir(const Config &cfg);

/// The host paths (as seen under apply.root, so comparable with repo paths) of everything
/// fjord owns that lies below apply.root, each also by its resolved path when a symlink leads
/// there. Paths outside apply.root are left out: no commit can reach them.
[[nodiscard]] std::vector<std::string> own_host_paths(const Config &cfg);

} // namespace fjord
