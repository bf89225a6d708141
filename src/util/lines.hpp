#pragma once
// Text read line by line: /proc files, identity files, ASCII armor, JSON streams. Header-only.
#include <cstddef>
#include <string_view>

namespace fjord {

/// The lines of a buffer, in order, each without its "\n" (and, with `strip_cr`, without one
/// "\r" before it). A last line without "\n" counts; nothing follows a final "\n". The lines
/// are views into `text`: nothing is copied (an identity file's key stays in one buffer).
struct Lines {
    std::string_view text;
    bool strip_cr = false;
    std::size_t pos = 0;    ///< where the next line starts
    std::size_t number = 0; ///< of the line next() gave last, counted from 1

    /// The next line into `line`; false once the text is used up.
    bool next(std::string_view &line) {
        if (pos >= text.size()) return false;
        auto nl = text.find('\n', pos);
        std::size_t end = nl == std::string_view::npos ? text.size() : nl;
        line = text.substr(pos, end - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++number;
        if (strip_cr && !line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
    }
};

} // namespace fjord
