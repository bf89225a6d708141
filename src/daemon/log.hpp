#pragma once
// fjord's log: structured journal entries (MESSAGE_ID, COMMIT=, GENERATION=, PATH=) when run
// by systemd, plain lines on stderr otherwise. Only daemon/ and cli/ log.
#include "config/config.hpp"
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fjord {

/// Message ids of state transitions, for `journalctl MESSAGE_ID=...` and the catalog.
namespace msgid {
inline constexpr const char *fetched = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a61";
inline constexpr const char *applied = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a62";
inline constexpr const char *failed = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a63";
inline constexpr const char *rolled_back = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a64";
inline constexpr const char *refused = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a65";
inline constexpr const char *drift = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a66";
inline constexpr const char *health_failed = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a67";
inline constexpr const char *marked_good = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a68";
inline constexpr const char *hook = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a69";
inline constexpr const char *image_update = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a6a";
inline constexpr const char *registry_error = "6a3e1c0f2b7d4e8a9c5f1b2d3e4f5a6b";
} // namespace msgid

using LogFields = std::initializer_list<std::pair<const char *, std::string>>;
using LogFieldList = std::vector<std::pair<const char *, std::string>>;

/// Chooses the sink (journal when stderr is the journal) and the lowest level logged.
void log_init(LogLevel level);
/// Logs one line; `id` may be nullptr; fields are KEY=value pairs for the journal.
void log_msg(LogLevel level, const char *id, std::string_view message, LogFields fields = {});
/// The same, with fields built at run time.
void log_msg(LogLevel level, const char *id, std::string_view message, const LogFieldList &fields);

inline void log_debug(std::string_view m, LogFields f = {}) { log_msg(LogLevel::debug, nullptr, m, f); }
inline void log_info(std::string_view m, LogFields f = {}) { log_msg(LogLevel::info, nullptr, m, f); }
inline void log_warning(std::string_view m, LogFields f = {}) { log_msg(LogLevel::warning, nullptr, m, f); }
inline void log_error(std::string_view m, LogFields f = {}) { log_msg(LogLevel::error, nullptr, m, f); }

} // namespace fjord
