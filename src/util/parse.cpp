#include "util/parse.hpp"

#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

namespace fjord {
namespace {

enum class Number { ok, bad, too_large };

// Digits with an optional fraction; a run of digits too long for a double is too_large (not
// bad), so "99999...9s" is reported as too large rather than as malformed.
Number read_number(std::string_view &s, double &out) {
    std::size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return Number::bad;
    auto r = std::from_chars(s.data(), s.data() + i, out);
    if (r.ec == std::errc::result_out_of_range && r.ptr == s.data() + i) return Number::too_large;
    if (r.ec != std::errc{} || r.ptr != s.data() + i) return Number::bad;
    s.remove_prefix(i);
    return Number::ok;
}

} // namespace

Result<Duration> parse_duration(std::string_view in) {
    std::string_view s = in;
    if (s.empty()) return fail(Errc::invalid, "empty duration");
    auto too_large = [&] {
        return fail(Errc::invalid, "duration \"" + std::string(in) + "\" is too large (at most " + format_duration(max_duration) + ")");
    };
    double total_ms = 0;
    while (!s.empty()) {
        double n;
        auto got = read_number(s, n);
        if (got == Number::too_large) return too_large();
        if (got == Number::bad) return fail(Errc::invalid, "bad duration \"" + std::string(in) + "\" (use e.g. 500ms, 30s, 5m, 1h)");
        std::size_t u = 0;
        while (u < s.size() && s[u] >= 'a' && s[u] <= 'z') ++u;
        std::string_view unit = s.substr(0, u);
        s.remove_prefix(u);
        double mult;
        if (unit == "ms") mult = 1;
        else if (unit == "s") mult = 1000;
        else if (unit == "m") mult = 60'000;
        else if (unit == "h") mult = 3'600'000;
        else if (unit == "d") mult = 86'400'000;
        else return fail(Errc::invalid, "bad duration \"" + std::string(in) + "\": unit must be ms, s, m, h or d");
        total_ms += n * mult;
        // Checked as it goes, before llround: a double past LLONG_MAX does not convert (it came
        // out negative, and the caller said "must be more than 0s").
        if (!(total_ms <= static_cast<double>(max_duration.count()))) return too_large();
    }
    return Duration(static_cast<Duration::rep>(std::llround(total_ms)));
}

Result<std::uint64_t> parse_size(std::string_view in) {
    std::string_view s = in;
    double n;
    auto too_large = [&] { return fail(Errc::invalid, "size \"" + std::string(in) + "\" is too large (at most 8589934592GiB)"); };
    auto got = read_number(s, n);
    if (got == Number::too_large) return too_large();
    if (got == Number::bad) return fail(Errc::invalid, "bad size \"" + std::string(in) + "\" (use e.g. 4096, 512KiB, 64MiB)");
    double mult;
    if (s.empty() || s == "B") mult = 1;
    else if (s == "KiB" || s == "Ki" || s == "K") mult = 1024.0;
    else if (s == "MiB" || s == "Mi" || s == "M") mult = 1024.0 * 1024;
    else if (s == "GiB" || s == "Gi" || s == "G") mult = 1024.0 * 1024 * 1024;
    else if (s == "kB" || s == "KB") mult = 1e3;
    else if (s == "MB") mult = 1e6;
    else if (s == "GB") mult = 1e9;
    else return fail(Errc::invalid, "bad size \"" + std::string(in) + "\": unit must be B, KiB, MiB, GiB, kB, MB or GB");
    // 2^63 is exact in a double, and the largest value llround can return is just below it.
    if (!(n * mult < static_cast<double>(max_size))) return too_large();
    return static_cast<std::uint64_t>(std::llround(n * mult));
}

Result<double> parse_percent(std::string_view in) {
    std::string_view s = in;
    double n;
    if (read_number(s, n) != Number::ok || s != "%") return fail(Errc::invalid, "bad percentage \"" + std::string(in) + "\" (use e.g. 5%)");
    return n;
}

Result<std::uint64_t> parse_uint(std::string_view s, std::uint64_t min, std::uint64_t max) {
    if (s.empty()) return fail(Errc::invalid, "empty (a decimal number is needed)");
    for (char c : s)
        if (c < '0' || c > '9') {
            const char *why = c == '-' || c == '+'                         ? "no sign"
                              : c == ' ' || c == '\t'                      ? "no blanks"
                              : c == '.' || c == ','                        ? "a whole number"
                              : s.size() > 1 && s[0] == '0' && (s[1] | 0x20) == 'x' ? "no 0x prefix"
                                                                            : "digits 0-9 only";
            return fail(Errc::invalid, std::string("not a decimal number (") + why + ")");
        }
    // "010" is 10 to some readers and 8 to others (and "00" is a typo): one spelling per number.
    if (s.size() > 1 && s.front() == '0') return fail(Errc::invalid, "not a decimal number (no leading zero)");
    std::uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec == std::errc::result_out_of_range || (r.ec == std::errc{} && v > max))
        return fail(Errc::invalid, "too large (at most " + std::to_string(max) + ")");
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) return fail(Errc::invalid, "not a decimal number");
    if (v < min) return fail(Errc::invalid, "less than " + std::to_string(min));
    return v;
}

Result<unsigned> parse_mode(std::string_view s) {
    unsigned v = 0;
    if (s.empty() || s.size() > 5) return fail(Errc::invalid, "bad mode \"" + std::string(s) + "\" (use octal, e.g. \"0644\")");
    for (char c : s) {
        if (c < '0' || c > '7') return fail(Errc::invalid, "bad mode \"" + std::string(s) + "\" (use octal, e.g. \"0644\")");
        v = v * 8 + unsigned(c - '0');
    }
    if (v > 07777) return fail(Errc::invalid, "bad mode \"" + std::string(s) + "\": larger than 07777");
    return v;
}

std::string format_time(std::int64_t t) {
    if (t <= 0) return "never";
    char buf[64];
    std::tm tm{};
    time_t tt = static_cast<time_t>(t);
    localtime_r(&tt, &tm);
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
    // strftime's %z is +hhmm; ISO 8601's extended form (journalctl -o short-iso's) is +hh:mm.
    std::string s(buf, n);
    if (s.size() > 5) s.insert(s.size() - 2, ":");
    return s;
}

std::string format_duration(Duration d) {
    auto ms = d.count();
    if (ms == 0) return "0s";
    std::string out;
    auto part = [&](long long unit, const char *name) {
        if (ms >= unit) {
            out += std::to_string(ms / unit) + name;
            ms %= unit;
        }
    };
    part(86'400'000, "d");
    part(3'600'000, "h");
    part(60'000, "m");
    part(1000, "s");
    part(1, "ms");
    return out;
}

} // namespace fjord
