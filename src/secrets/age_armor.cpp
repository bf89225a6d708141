// The ASCII armor of age files, as age's armor package reads it: optional whitespace, the
// BEGIN line, canonical padded Base64 in lines of exactly 64 columns (the last one shorter),
// the END line, optional whitespace. LF or CRLF line ends.
#include "secrets/age.hpp"

#include "secrets/codec.hpp"
#include "util/lines.hpp"

namespace fjord {
namespace {

constexpr std::string_view begin_line = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr std::string_view end_line = "-----END AGE ENCRYPTED FILE-----";
constexpr std::size_t columns = 64;
constexpr std::size_t bytes_per_line = columns / 4 * 3;
// age bounds the whitespace it skips around the armor; so does fjord.
constexpr std::size_t max_whitespace = 1024;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

bool all_space(std::string_view s) {
    for (char c : s)
        if (!is_space(c)) return false;
    return true;
}

tl::unexpected<Error> bad(const Lines &l, const std::string &why) {
    return fail(Errc::invalid, "ASCII armor, line " + std::to_string(l.number) + ": " + why);
}

} // namespace

std::string age_armor(std::string_view binary) {
    std::string b64 = base64_encode(binary, true);
    std::string out;
    out.reserve(b64.size() + b64.size() / columns + begin_line.size() + end_line.size() + 4);
    out += begin_line;
    out += '\n';
    for (std::size_t i = 0; i < b64.size(); i += columns) {
        out += std::string_view(b64).substr(i, columns);
        out += '\n';
    }
    out += end_line;
    out += '\n';
    return out;
}

Result<std::string> age_unarmor(std::string_view text) {
    Lines lines{text, true};
    std::string_view line;
    std::size_t skipped = 0;
    for (;;) {
        if (!lines.next(line)) return bad(lines, "no -----BEGIN AGE ENCRYPTED FILE----- line (not an age file)");
        if (!all_space(line)) break;
        skipped += line.size() + 1;
        if (skipped > max_whitespace) return bad(lines, "too much leading whitespace");
    }
    if (line != begin_line)
        return fail(Errc::invalid, "not an age file: neither binary age (age-encryption.org/v1) nor its ASCII armor "
                                   "(-----BEGIN AGE ENCRYPTED FILE-----)");

    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (;;) {
        if (!lines.next(line)) return bad(lines, "ends without -----END AGE ENCRYPTED FILE-----");
        if (line == end_line) break;
        if (line.empty()) return bad(lines, "empty line inside the armor");
        if (line.size() > columns) return bad(lines, "longer than 64 columns");
        auto chunk = base64_decode(line, true);
        if (!chunk) return bad(lines, "not canonical padded Base64");
        out += *chunk;
        if (chunk->size() < bytes_per_line) {
            // Only the last line may be short: the END line must follow it.
            if (!lines.next(line) || line != end_line)
                return bad(lines, "a short line must be the last one, followed by -----END AGE ENCRYPTED FILE-----");
            break;
        }
    }
    std::string_view rest = text.substr(lines.pos);
    if (!all_space(rest)) return bad(lines, "data after -----END AGE ENCRYPTED FILE-----");
    if (rest.size() >= max_whitespace) return bad(lines, "too much trailing whitespace");
    return out;
}

} // namespace fjord
