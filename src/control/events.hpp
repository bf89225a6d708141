#pragma once
// fjord's journal events: the MESSAGE_ID of each state transition fjordd logs, and the name
// `fjordctl events` shows for it. fjordd writes them (daemon/log.hpp), fjordctl reads them back
// from the journal (cli/events_cmd.cpp); units/fjord.catalog explains each to `journalctl -x`.
#include <string_view>

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

/// One kind of event: its MESSAGE_ID and its name.
struct EventKind {
    const char *id;
    const char *name;
};

/// Every event fjordd logs with a MESSAGE_ID, in the catalog's order.
inline constexpr EventKind event_kinds[] = {
    {msgid::fetched, "fetched"},         {msgid::applied, "applied"},
    {msgid::failed, "failed"},           {msgid::rolled_back, "rolled_back"},
    {msgid::refused, "refused"},         {msgid::drift, "drift"},
    {msgid::health_failed, "health_failed"}, {msgid::marked_good, "marked_good"},
    {msgid::hook, "hook"},               {msgid::image_update, "image_update"},
    {msgid::registry_error, "registry_error"},
};

/// The name of a MESSAGE_ID, or nullptr when it is none of fjord's.
[[nodiscard]] inline const char *event_name(std::string_view id) {
    for (const auto &k : event_kinds)
        if (id == k.id) return k.name;
    return nullptr;
}

} // namespace fjord
