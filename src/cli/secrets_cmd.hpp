#pragma once
// fjordctl identity and fjordctl encrypt: the host's age recipient and SSH deploy key, and
// age-format encryption of stdin for one or more hosts (no daemon and no config needed).
#include "config/config.hpp"
#include "manifest/render.hpp"
#include <string>
#include <vector>

namespace fjord {

/// `fjordctl identity [recipient|ssh]`: prints the age recipient and the SSH deploy public key
/// (or only one of them). Makes the age identity when there is none yet, as fjordd's first
/// start would (so a package's postinst can run it).
[[nodiscard]] int run_identity(const Config &cfg, const std::vector<std::string> &args);

/// `fjordctl encrypt -r age1… [-r age1…] [-a]`: encrypts stdin to stdout.
[[nodiscard]] int run_encrypt(const std::vector<std::string> &args);

/// For offline render/validate on a host: decrypt .age files with secrets.identity when it is
/// readable here; otherwise leave them undecrypted. Returns why they are not decrypted, or "".
[[nodiscard]] std::string offline_secrets(const Config &cfg, RenderOptions &ro);

} // namespace fjord
