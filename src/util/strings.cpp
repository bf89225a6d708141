#include "util/strings.hpp"

namespace fjord {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

} // namespace

bool wildcard_match(std::string_view pat, std::string_view s) {
    std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
    while (i < s.size()) {
        if (p < pat.size() && (pat[p] == '?' || pat[p] == s[i])) {
            ++p, ++i;
        } else if (p < pat.size() && pat[p] == '*') {
            star = p++, mark = i;
        } else if (star != std::string_view::npos) {
            p = star + 1, i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pat.size() && pat[p] == '*') ++p;
    return p == pat.size();
}

int natural_compare(std::string_view a, std::string_view b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (is_digit(a[i]) && is_digit(b[j])) {
            while (i < a.size() && a[i] == '0') ++i;
            while (j < b.size() && b[j] == '0') ++j;
            std::size_t si = i, sj = j;
            while (i < a.size() && is_digit(a[i])) ++i;
            while (j < b.size() && is_digit(b[j])) ++j;
            if (i - si != j - sj) return i - si < j - sj ? -1 : 1; // more digits: a larger number
            if (int c = a.substr(si, i - si).compare(b.substr(sj, j - sj)); c != 0) return c < 0 ? -1 : 1;
            continue;
        }
        if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
        ++i, ++j;
    }
    if (a.size() - i == b.size() - j) return 0;
    return a.size() - i < b.size() - j ? -1 : 1;
}

std::string ref_component_problem(std::string_view name) {
    if (name.empty()) return "empty";
    if (name.size() > 63) return "longer than 63 characters";
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (!alnum(name[0])) return "must start with a letter or digit";
    for (char c : name)
        if (!alnum(c) && c != '.' && c != '_' && c != '-') return "only letters, digits, '.', '_' and '-' may be used (it names a Git ref)";
    if (name.back() == '.' || name.ends_with(".lock") || name.find("..") != std::string_view::npos)
        return "may not end in '.' or \".lock\" or hold \"..\" (Git refuses such ref names)";
    return {};
}

std::string without_elapsed(std::string message) {
    for (std::size_t at = message.find(" after "); at != std::string::npos; at = message.find(" after ", at)) {
        std::size_t end = at + 7, digits = end;
        while (digits < message.size() && message[digits] >= '0' && message[digits] <= '9') ++digits;
        std::size_t unit = 0;
        for (std::string_view u : {" milliseconds", " ms"})
            if (digits > end && message.compare(digits, u.size(), u) == 0) {
                unit = u.size();
                break;
            }
        if (unit) message.erase(at, digits + unit - at);
        else ++at;
    }
    return message;
}

} // namespace fjord
