#pragma once
// Parsers for the value syntaxes of fjord.toml (durations, byte sizes, percentages, modes) and
// of fjordctl's numeric arguments.
#include "util/result.hpp"
#include <chrono>
#include <cstdint>
#include <string_view>

namespace fjord {

using Duration = std::chrono::milliseconds;

/// The longest duration parse_duration takes: 100 years, far beyond any sensible interval or
/// timeout, and small enough that steady_clock::now() + it (nanoseconds) cannot overflow.
inline constexpr Duration max_duration = std::chrono::hours(24 * 36500);
/// The largest size parse_size takes (2^63 bytes, 8 EiB): larger would wrap in the arithmetic.
inline constexpr std::uint64_t max_size = std::uint64_t{1} << 63;

/// "500ms", "30s", "5m", "1h", "1d" (also combined: "1m30s"). A bare number is refused, and so
/// is one longer than max_duration ("too large (at most 36500d)").
[[nodiscard]] Result<Duration> parse_duration(std::string_view s);
/// "64MiB", "512KiB", "1GiB", "100MB", "4096" (bytes). Binary and decimal units; at most max_size.
[[nodiscard]] Result<std::uint64_t> parse_size(std::string_view s);
/// A whole number in [min, max], strictly: decimal digits only, no sign, blank, base prefix or
/// leading zero ("0" itself is fine when min is 0). The message does not repeat `s` (which may
/// hold control characters); the caller names the argument: "not a decimal number (digits 0-9
/// only; a sign is not allowed)", "too large (at most 4294967295)", "less than 1".
[[nodiscard]] Result<std::uint64_t> parse_uint(std::string_view s, std::uint64_t min, std::uint64_t max);
/// "5%" -> 5.0; "0.5%" -> 0.5.
[[nodiscard]] Result<double> parse_percent(std::string_view s);
/// "0644" or "644" -> 0644. Only permission bits and setuid/setgid/sticky (<= 07777).
[[nodiscard]] Result<unsigned> parse_mode(std::string_view s);
/// Local time in ISO 8601 with its offset, "2026-11-26T03:14:15+01:00", or "never" for 0.
[[nodiscard]] std::string format_time(std::int64_t seconds_since_epoch);
/// A duration as an operator writes it: 90000ms -> "1m30s".
[[nodiscard]] std::string format_duration(Duration d);

} // namespace fjord
