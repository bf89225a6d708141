#pragma once
// fjord's log, through spdlog: structured journal entries (MESSAGE_ID, COMMIT=, GENERATION=,
// PATH=...) when stderr is the journal, timestamped plain lines on stderr otherwise; repeats of a
// warning or error within 60 s are counted, not logged (daemon/log_limit.hpp). Only daemon/ and
// cli/ log.
#include "config/config.hpp"
#include "control/events.hpp" // msgid: the MESSAGE_IDs
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fjord {

using LogFields = std::initializer_list<std::pair<const char *, std::string>>;
using LogFieldList = std::vector<std::pair<const char *, std::string>>;

/// Chooses the sink (journal when stderr is the journal) and the lowest level logged; called
/// again (a reload), it changes the level and keeps the repeat counts.
void log_init(LogLevel level);
/// Logs the summaries of repeats still counted (fjordd calls it as it exits).
void log_flush();
/// Logs one line; `id` may be nullptr; fields are KEY=value pairs for the journal.
void log_msg(LogLevel level, const char *id, std::string_view message, LogFields fields = {});
/// The same, with fields built at run time.
void log_msg(LogLevel level, const char *id, std::string_view message, const LogFieldList &fields);

inline void log_debug(std::string_view m, LogFields f = {}) { log_msg(LogLevel::debug, nullptr, m, f); }
inline void log_info(std::string_view m, LogFields f = {}) { log_msg(LogLevel::info, nullptr, m, f); }
inline void log_warning(std::string_view m, LogFields f = {}) { log_msg(LogLevel::warning, nullptr, m, f); }
inline void log_error(std::string_view m, LogFields f = {}) { log_msg(LogLevel::error, nullptr, m, f); }

} // namespace fjord
