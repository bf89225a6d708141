#pragma once
// Parsers for the value syntaxes of fjord.toml: durations, byte sizes, percentages, modes.
#include "util/result.hpp"
#include <chrono>
#include <cstdint>
#include <string_view>

namespace fjord {

using Duration = std::chrono::milliseconds;

/// "500ms", "30s", "5m", "1h", "1d" (also combined: "1m30s"). A bare number is refused.
[[nodiscard]] Result<Duration> parse_duration(std::string_view s);
/// "64MiB", "512KiB", "1GiB", "100MB", "4096" (bytes). Binary and decimal units.
[[nodiscard]] Result<std::uint64_t> parse_size(std::string_view s);
/// "5%" -> 5.0; "0.5%" -> 0.5.
[[nodiscard]] Result<double> parse_percent(std::string_view s);
/// "0644" or "644" -> 0644. Only permission bits and setuid/setgid/sticky (<= 07777).
[[nodiscard]] Result<unsigned> parse_mode(std::string_view s);
/// Local time as "2026-11-26 03:14:15", or "never" for 0.
[[nodiscard]] std::string format_time(std::int64_t seconds_since_epoch);
/// A duration as an operator writes it: 90000ms -> "1m30s".
[[nodiscard]] std::string format_duration(Duration d);

} // namespace fjord
