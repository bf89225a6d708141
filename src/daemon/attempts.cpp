#include "daemon/attempts.hpp"

#include "util/strings.hpp"
#include <algorithm>
#include <charconv>

namespace fjord {

Attempts parse_attempts(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    auto sp = text.rfind(' ');
    if (sp == std::string_view::npos || sp == 0) return {};
    std::uint32_t n = 0;
    auto num = text.substr(sp + 1);
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (ec != std::errc{} || end != num.data() + num.size()) return {};
    return Attempts{std::string(text.substr(0, sp)), n};
}

std::string format_attempts(const Attempts &a) { return a.commit + " " + std::to_string(a.count); }

Attempts next_attempt(const Attempts &a, const std::string &commit) {
    if (a.commit == commit && a.count > 0) return Attempts{commit, a.count + 1};
    return Attempts{commit, 1};
}

std::string trip_reason(const Attempts &a) {
    if (a.count <= max_attempts) return "";
    return "halted: " + std::to_string(a.count - 1) + " attempts to apply commit " + short_id(a.commit) +
           " were interrupted (fjordd killed or crashed mid-apply or mid-rollback) or rolled back for a reason that looked "
           "transient; fjordctl resume or fjordctl sync --retry to try again";
}

bool commit_at_fault(Errc code) { return code == Errc::invalid || code == Errc::refused; }

bool transient(Errc code) {
    // io: a system call failed on the host (not the commit's content): tried again with
    // backoff; the attempt counter halts it should it keep undoing the host's changes.
    return code == Errc::network || code == Errc::busy || code == Errc::unavailable || code == Errc::io;
}

Backoff next_backoff(const Backoff &b, const std::string &commit, std::int64_t now, std::int64_t base, std::string why) {
    base = std::clamp<std::int64_t>(base, 1, max_backoff_seconds);
    std::int64_t delay = b.commit == commit && b.delay > 0 ? std::min(b.delay * 2, max_backoff_seconds) : base;
    return Backoff{commit, now + delay, delay, std::move(why)};
}

std::int64_t backoff_left(const Backoff &b, const std::string &commit, std::int64_t now) {
    return b.commit == commit && b.until > now ? b.until - now : 0;
}

} // namespace fjord
