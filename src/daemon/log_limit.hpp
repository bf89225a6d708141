#pragma once
// Rate limiting of fjord's log: a warning or error repeated within a window is logged once, and
// its repeats are counted and told as one summary line (pure logic, the clock handed in).
#include "config/config.hpp"
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fjord {

/// One log entry: level, MESSAGE_ID ("" for none), text and the journal's KEY=value fields.
struct LogEntry {
    LogLevel level = LogLevel::info;
    std::string id;
    std::string text;
    std::vector<std::pair<std::string, std::string>> fields;
};

/// Counts repeats of a warning or error (same level, MESSAGE_ID and text) for `window` after it
/// was logged. The first repeat after the window ended, or any entry after it, brings the
/// summary: "<text> (repeated N more times in 60 s)", with REPEATED=N and the last repeat's
/// fields. Debug and info entries pass untouched: they tell what happened, once each.
class RepeatLimiter {
  public:
    using Time = std::chrono::steady_clock::time_point;
    /// A minute: a failing poll every 5 s costs one line a minute, and an operator who looks
    /// at the journal sees within a minute that it goes on.
    static constexpr std::chrono::seconds default_window{60};

    /// `max_tracked` bounds the memory: beyond it, a new message is logged without a window.
    explicit RepeatLimiter(std::chrono::seconds window = default_window, std::size_t max_tracked = 128)
        : window_(window), max_tracked_(max_tracked) {}

    /// The entries to log for `e` arriving at `now`, in order: the summary of every window that
    /// ended with repeats, then `e` itself unless it repeats one logged within its window.
    [[nodiscard]] std::vector<LogEntry> admit(LogEntry e, Time now);
    /// The summary of every window with repeats, ended now (fjordd stopping): repeats are never
    /// lost with the process.
    [[nodiscard]] std::vector<LogEntry> flush();

  private:
    /// Ends the windows older than *now (all: nullptr), a summary each for those with repeats.
    void close_windows(std::vector<LogEntry> &out, const Time *now);
    struct Window {
        Time start;
        std::uint64_t repeats = 0;
        LogEntry last; ///< the last repeat, whose fields the summary carries
    };
    std::chrono::seconds window_;
    std::size_t max_tracked_;
    std::map<std::string, Window> windows_;
};

} // namespace fjord
