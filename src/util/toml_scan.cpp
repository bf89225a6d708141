#include "util/toml_scan.hpp"

// The scan follows TOML's statement grammar loosely: it must accept everything toml++ accepts
// (or it would stop early and leave part of a valid file unmeasured), but need not refuse what
// toml++ refuses. So scalars are skipped up to the next delimiter without being read, bare keys
// are any run of characters that are not TOML punctuation, and newlines are allowed wherever
// they do no harm. Where the text is no TOML at all, the scan stops without an error: toml++
// stops at that point too, with its own message.

namespace fjord {
namespace {

class Scanner {
  public:
    Scanner(std::string_view text, const TomlScanLimits &limits) : s_(text), limits_(limits) {}

    std::optional<TomlScanError> run() {
        if (s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3; // a UTF-8 byte-order mark, which toml++ skips
        std::size_t base = 0; // the depth of the table the last header opened
        for (;;) {
            skip_blank_lines();
            if (end()) return std::nullopt;
            if (peek() == '[') {
                bool array = peek(1) == '[';
                advance(array ? 2 : 1);
                std::size_t d = 0;
                if (!key(0, d)) return error_;
                if (peek() != ']' || (array && peek(1) != ']')) return error_;
                advance(array ? 2 : 1);
                base = d;
                // [[x]] opens an array x and a table in it.
                if (array && !(deeper(d + 1) && counted())) return error_;
                base += array ? 1 : 0;
            } else {
                std::size_t d = 0;
                if (!key(base, d) || peek() != '=') return error_;
                advance();
                if (!value(d)) return error_;
            }
            skip_spaces();
            if (peek() == '#') skip_comment();
            if (!end() && peek() != '\n' && !(peek() == '\r' && peek(1) == '\n')) return error_;
        }
    }

  private:
    bool end() const { return i_ >= s_.size(); }
    char peek(std::size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }

    void advance(std::size_t n = 1) {
        for (; n > 0 && !end(); --n, ++i_) {
            if (s_[i_] == '\n') {
                ++line_;
                column_ = 1;
            } else if ((static_cast<unsigned char>(s_[i_]) & 0xC0) != 0x80) {
                ++column_; // one per code point: UTF-8 continuation bytes do not count
            }
        }
    }

    void skip_spaces() {
        while (peek() == ' ' || peek() == '\t') advance();
    }
    void skip_comment() {
        while (!end() && peek() != '\n') advance();
    }
    /// Spaces, comments and line breaks: between statements, and between the elements of an
    /// array (inline tables too, which TOML 1.0 keeps on one line: allowed here, refused by toml++).
    void skip_blank_lines() {
        for (;;) {
            skip_spaces();
            if (peek() == '#') skip_comment();
            if (peek() != '\n' && peek() != '\r') return;
            advance();
        }
    }

    /// Refuses a node at depth `d` past the limit, at the current position.
    bool deeper(std::size_t d) {
        if (d <= limits_.max_depth) return true;
        error_ = TomlScanError{line_, column_,
                               "nests deeper than " + std::to_string(limits_.max_depth) +
                                   " levels (table headers, dotted keys, arrays and inline tables together)"};
        return false;
    }

    /// Counts one node, refusing it past the limit.
    bool counted() {
        if (++values_ <= limits_.max_values) return true;
        error_ = TomlScanError{line_, column_,
                               "more than " + std::to_string(limits_.max_values) +
                                   " values (keys, key segments and array elements)"};
        return false;
    }

    static bool bare(char c) {
        switch (c) {
        case '\0': case ' ': case '\t': case '\r': case '\n': case '.': case '=': case '[': case ']':
        case '{': case '}': case '"': case '\'': case '#': case ',': return false;
        default: return true;
        }
    }

    /// A key (a.b."c d".'e'): each segment one level below `base`; `depth` gets the last's.
    bool key(std::size_t base, std::size_t &depth) {
        depth = base;
        for (;;) {
            skip_spaces();
            if (!deeper(++depth) || !counted()) return false;
            char c = peek();
            if (c == '"' || c == '\'') {
                if (!string(c, false)) return false;
            } else if (bare(c)) {
                while (bare(peek())) advance();
            } else {
                return false;
            }
            skip_spaces();
            if (peek() != '.') return true;
            advance();
        }
    }

    /// A string starting at the quote `q`; `multi`: """...""" and '''...''' too.
    bool string(char q, bool multi) {
        bool escapes = q == '"';
        if (multi && peek(1) == q && peek(2) == q) {
            advance(3);
            while (!end()) {
                if (escapes && peek() == '\\') {
                    advance(2);
                } else if (peek() == q && peek(1) == q && peek(2) == q) {
                    advance(3);
                    // Up to two more quotes belong to the content ("""a"""" is a").
                    for (int k = 0; k < 2 && peek() == q; ++k) advance();
                    return true;
                } else {
                    advance();
                }
            }
            return false;
        }
        advance();
        while (!end() && peek() != '\n') {
            if (escapes && peek() == '\\') {
                advance(2);
            } else if (peek() == q) {
                advance();
                return true;
            } else {
                advance();
            }
        }
        return false;
    }

    /// The value of a key at depth `d`: its elements and keys are one level further down.
    bool value(std::size_t d) {
        skip_spaces();
        char c = peek();
        if (c == '"' || c == '\'') return string(c, true);
        if (c == '[' || c == '{') {
            char close = c == '[' ? ']' : '}';
            advance();
            for (;;) {
                skip_blank_lines();
                if (peek() == close) break;
                if (c == '[') {
                    if (!deeper(d + 1) || !counted() || !value(d + 1)) return false;
                } else {
                    std::size_t kd = 0;
                    if (!key(d, kd) || peek() != '=') return false;
                    advance();
                    if (!value(kd)) return false;
                }
                skip_blank_lines();
                if (peek() != ',') break;
                advance();
            }
            if (peek() != close) return false;
            advance();
            return true;
        }
        // A number, boolean or date (which may hold a space): up to where the value must end.
        std::size_t start = i_;
        while (!end() && peek() != ',' && peek() != ']' && peek() != '}' && peek() != '\n' && peek() != '\r' &&
               peek() != '#')
            advance();
        return i_ > start;
    }

    std::string_view s_;
    const TomlScanLimits &limits_;
    std::size_t i_ = 0, line_ = 1, column_ = 1, values_ = 0;
    std::optional<TomlScanError> error_; ///< set when a limit was passed; a stop without it is not TOML
};

} // namespace

std::optional<TomlScanError> scan_toml(std::string_view text, const TomlScanLimits &limits) {
    return Scanner(text, limits).run();
}

} // namespace fjord
