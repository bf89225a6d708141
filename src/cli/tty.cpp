#include "cli/tty.hpp"

#include "manifest/validate.hpp"

namespace fjord {

std::string tty(std::string_view s) {
    std::string in = printable(s), out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        auto u = static_cast<unsigned char>(in[i]);
        auto next = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0;
        if (u == 0xc2 && next >= 0x80 && next <= 0x9f) {
            out += "\\u00" + std::string(1, "0123456789abcdef"[next >> 4]) + "0123456789abcdef"[next & 15];
            ++i;
        } else {
            out += in[i];
        }
    }
    return out;
}

std::string tty_lines(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i <= s.size();) {
        auto nl = s.find('\n', i);
        if (nl == std::string_view::npos) {
            out += tty(s.substr(i));
            break;
        }
        out += tty(s.substr(i, nl - i)) + "\n";
        i = nl + 1;
    }
    return out;
}

} // namespace fjord
