#pragma once
// The control socket between fjordctl and fjordd: one JSON request line, one JSON reply line,
// on a unix socket only root can open (mode 0600, and the peer's uid is checked).
#include "config/config.hpp"
#include "util/unique_fd.hpp"
#include <nlohmann/json.hpp>

namespace fjord {

/// /run/fjord/control.sock for the default state.dir; STATE_DIR/control.sock otherwise, so
/// several fjordd (tests, demos) can run side by side.
[[nodiscard]] std::string control_socket_path(const Config &cfg);
/// Binds and listens (replacing a stale socket file).
[[nodiscard]] Result<unique_fd> control_listen(const std::string &path);
/// Reads one request from an accepted connection; refuses peers that are not root or our uid.
[[nodiscard]] Result<nlohmann::json> control_read(int fd);
/// Writes one reply.
void control_reply(int fd, const nlohmann::json &reply);
/// Client side: sends `req`, waits up to timeout_ms for the reply. Errc::not_found when no
/// daemon listens.
[[nodiscard]] Result<nlohmann::json> control_call(const std::string &path, const nlohmann::json &req, int timeout_ms);

} // namespace fjord
