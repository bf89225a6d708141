#pragma once
// Text from the repo, the host or the daemon (file names, commit subjects, errors quoting a
// command's output) as fjordctl prints it: never a control character a terminal would obey.
#include <string>
#include <string_view>

namespace fjord {

/// One line for a terminal: C0 controls (line breaks too), DEL and C1 (UTF-8 U+0080..U+009F,
/// which some terminals obey as ESC [) escaped as \xNN, \n, \r, \u00NN.
[[nodiscard]] std::string tty(std::string_view s);
/// Several lines for a terminal: as tty() for each line, the line breaks kept.
[[nodiscard]] std::string tty_lines(std::string_view s);

} // namespace fjord
