#include "manifest/template.hpp"

#include <algorithm>

namespace fjord {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::size_t count_lines(std::string_view s) { return std::size_t(std::count(s.begin(), s.end(), '\n')); }

} // namespace

Result<std::string> render_template(std::string_view text, const TemplateLookup &lookup,
                                    const std::string &origin, std::uint64_t max_size) {
    std::string out;
    std::size_t pos = 0;
    std::size_t line = 1; // line of text[pos]
    auto error = [&](std::size_t at_line, const std::string &why) {
        return fail(Errc::invalid, origin + ":" + std::to_string(at_line) + ": " + why);
    };
    auto too_big = [&] {
        return fail(Errc::refused, origin + ": rendered content is larger than apply.max_file_size (" +
                                       std::to_string(max_size) + " bytes)");
    };

    while (pos < text.size()) {
        std::size_t open = text.find("{{", pos);
        if (open == std::string_view::npos) open = text.size();
        out.append(text.substr(pos, open - pos));
        line += count_lines(text.substr(pos, open - pos));
        if (out.size() > max_size) return too_big();
        if (open == text.size()) break;

        bool triple = text.compare(open, 3, "{{{") == 0;
        std::string_view closer = triple ? "}}}" : "}}";
        std::size_t body_at = open + (triple ? 3 : 2);
        std::size_t close = text.find(closer, body_at);
        if (close == std::string_view::npos) return error(line, "\"{{\" is not closed");
        std::string_view body = text.substr(body_at, close - body_at);
        std::string_view tag = text.substr(open, close + closer.size() - open);
        std::size_t tag_line = line;
        std::size_t end = close + closer.size();
        line += count_lines(tag);

        std::string_view name = trim(body);
        char sigil = triple || name.empty() ? '\0' : name.front();
        if (sigil == '!') {
            // A comment alone on its line takes the line with it, as Mustache specifies, so
            // commented templates do not leave blank lines in the rendered file.
            std::size_t nl = open == 0 ? std::string_view::npos : text.rfind('\n', open - 1);
            std::size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
            std::size_t line_end = text.find('\n', end);
            if (line_end == std::string_view::npos) line_end = text.size();
            if (blank(text.substr(line_start, open - line_start)) && blank(text.substr(end, line_end - end))) {
                out.resize(out.size() - (open - line_start));
                if (line_end < text.size()) ++line;
                pos = line_end < text.size() ? line_end + 1 : line_end;
            } else {
                pos = end;
            }
            continue;
        }
        switch (sigil) {
        case '#': case '^': case '/':
            return error(tag_line, std::string(tag) + ": sections are not supported (only {{name}} and {{! comments}})");
        case '>':
            return error(tag_line, std::string(tag) + ": partials are not supported (only {{name}} and {{! comments}})");
        case '=':
            return error(tag_line, std::string(tag) + ": changing delimiters is not supported");
        case '&':
            name = trim(name.substr(1));
            break;
        default:
            break;
        }
        if (name.empty()) return error(tag_line, std::string(tag) + ": empty variable name");
        const std::string *value = lookup(name);
        if (!value)
            return error(tag_line, "unknown variable \"" + std::string(name) + "\" (not in [vars] nor a host fact)");
        out += *value;
        if (out.size() > max_size) return too_big();
        pos = end;
    }
    return out;
}

} // namespace fjord
