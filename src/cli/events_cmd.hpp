#pragma once
// fjordctl events: fjord's own journal events (applied, refused, rolled back, drift, image
// update...), read with sd-journal by MESSAGE_ID (control/events.hpp), one line each.
#include "util/result.hpp"
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace fjord {

/// One of fjord's journal entries.
struct JournalEvent {
    std::int64_t time_us = 0;     ///< when it was logged, microseconds since the epoch
    std::string name;             ///< applied, refused, rolled_back... (control/events.hpp)
    std::string id;               ///< its MESSAGE_ID
    int priority = 6;             ///< syslog priority: 3 error, 4 warning, 6 info, 7 debug
    std::uint64_t generation = 0; ///< GENERATION= (0: none)
    std::string commit;           ///< COMMIT= ("" when none)
    std::string message;
    std::map<std::string, std::string> fields; ///< fjord's other fields: PATH, HOOK, IMAGE, REPEATED...
};

/// An event from a journal entry's "KEY=value" fields; nullopt-like error when its MESSAGE_ID
/// is none of fjord's.
[[nodiscard]] Result<JournalEvent> event_from_fields(const std::map<std::string, std::string> &fields, std::int64_t time_us);

/// `--since TIME` as microseconds since the epoch, from the forms journalctl takes that people
/// use most: "2026-12-04", "2026-12-04 10:00[:00]" (local time), "2026-12-04T10:00:00+01:00",
/// "@1796206581" (epoch seconds), "-1h", "1h ago", "30m ago", "now", "today", "yesterday".
[[nodiscard]] Result<std::int64_t> parse_since(std::string_view s, std::int64_t now_us);

/// One line: time (ISO 8601 with zone), event, generation, commit (short), message.
[[nodiscard]] std::string format_event(const JournalEvent &e);
/// One JSON object, on one line, numbers as numbers.
[[nodiscard]] std::string event_json(const JournalEvent &e);

/// `fjordctl events [--follow] [--since TIME] [--json]`: 0, 1 when the journal cannot be read,
/// 2 for a bad TIME.
[[nodiscard]] int run_events(bool follow, const std::string &since, bool json);

} // namespace fjord
