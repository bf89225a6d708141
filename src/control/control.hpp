#pragma once
// The control socket between fjordctl and fjordd: one JSON request line, one JSON reply line,
// on a unix socket only root can open (mode 0600, and the peer's uid is checked). A request
// with "progress": true may get {"progress": "..."} lines before its reply (sync, while it
// applies and checks); clients that do not ask never see them.
#include "util/result.hpp"
#include "util/unique_fd.hpp"
#include <functional>
#include <nlohmann/json.hpp>

namespace fjord {

/// Binds and listens (replacing a stale socket file).
[[nodiscard]] Result<unique_fd> control_listen(const std::string &path);
/// Reads one request from an accepted connection; refuses peers that are not root or our uid.
[[nodiscard]] Result<nlohmann::json> control_read(int fd);
/// Writes one reply.
void control_reply(int fd, const nlohmann::json &reply);
/// Writes one progress line ahead of the reply.
void control_progress(int fd, const std::string &line);
/// Client side: sends `req`, waits up to timeout_ms for the reply (between any two lines).
/// Progress lines go to `on_progress`. Errc::not_found when no daemon listens.
[[nodiscard]] Result<nlohmann::json> control_call(const std::string &path, const nlohmann::json &req, int timeout_ms,
                                                  const std::function<void(const std::string &)> &on_progress = {});

} // namespace fjord
