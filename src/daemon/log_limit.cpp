#include "daemon/log_limit.hpp"

namespace fjord {

void RepeatLimiter::close_windows(std::vector<LogEntry> &out, const Time *now) {
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (now && *now - it->second.start < window_) {
            ++it;
            continue;
        }
        if (auto n = it->second.repeats; n > 0) {
            LogEntry s = std::move(it->second.last);
            s.text += " (repeated " + std::to_string(n) + " more time" + (n == 1 ? "" : "s") + " in " +
                      std::to_string(window_.count()) + " s)";
            s.fields.emplace_back("REPEATED", std::to_string(n));
            out.push_back(std::move(s));
        }
        it = windows_.erase(it);
    }
}

std::vector<LogEntry> RepeatLimiter::flush() {
    std::vector<LogEntry> out;
    close_windows(out, nullptr);
    return out;
}

std::vector<LogEntry> RepeatLimiter::admit(LogEntry e, Time now) {
    std::vector<LogEntry> out;
    // Windows that ended: a summary for those with repeats; all are forgotten.
    close_windows(out, &now);
    if (e.level != LogLevel::warning && e.level != LogLevel::error) {
        out.push_back(std::move(e));
        return out;
    }
    std::string key = std::to_string(static_cast<int>(e.level)) + '\0' + e.id + '\0' + e.text;
    if (auto it = windows_.find(key); it != windows_.end()) {
        ++it->second.repeats;
        it->second.last = std::move(e);
        return out;
    }
    if (windows_.size() < max_tracked_) windows_.emplace(std::move(key), Window{now, 0, {}});
    out.push_back(std::move(e));
    return out;
}

} // namespace fjord
