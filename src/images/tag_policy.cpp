#include "images/tag_policy.hpp"

#include "util/strings.hpp"
#include <algorithm>

namespace fjord {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// Characters a registry allows in a tag after the first: [A-Za-z0-9_.-].
bool is_tag_char(char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }

int sign(int c) { return c < 0 ? -1 : c > 0 ? 1 : 0; }

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

// Pre-releases compare part by part (split at '.'); numeric parts sort below others, as in
// semver; more parts sort above fewer when the common ones are equal (rc.1 < rc.1.1).
int compare_pre(std::string_view a, std::string_view b) {
    while (true) {
        if (a.empty() || b.empty()) return sign(static_cast<int>(!a.empty()) - static_cast<int>(!b.empty()));
        std::size_t ea = std::min(a.find('.'), a.size()), eb = std::min(b.find('.'), b.size());
        std::string_view pa = a.substr(0, ea), pb = b.substr(0, eb);
        bool na = all_digits(pa), nb = all_digits(pb);
        int c = na != nb ? (na ? -1 : 1) : natural_compare(pa, pb);
        if (c != 0) return c;
        a.remove_prefix(std::min(ea + 1, a.size()));
        b.remove_prefix(std::min(eb + 1, b.size()));
    }
}

// Reads [v]N[.N[.N]][-PRE]; `parts` gets how many numbers were written.
std::optional<Version> read_version(std::string_view s, int &parts) {
    if (!s.empty() && s[0] == 'v') s.remove_prefix(1);
    Version v;
    std::uint64_t *field[] = {&v.major, &v.minor, &v.patch};
    parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        if (i == start || i - start > 18) return std::nullopt; // 18 digits cannot overflow
        std::uint64_t n = 0;
        for (std::size_t k = start; k < i; ++k) n = n * 10 + static_cast<std::uint64_t>(s[k] - '0');
        *field[parts++] = n;
        if (i < s.size() && s[i] == '.' && parts < 3) {
            ++i;
            continue;
        }
        break;
    }
    if (i == s.size()) return v;
    if (s[i] != '-' || i + 1 == s.size()) return std::nullopt;
    v.pre = std::string(s.substr(i + 1));
    if (!std::all_of(v.pre.begin(), v.pre.end(), is_tag_char)) return std::nullopt;
    return v;
}

bool same_release(const Version &a, const Version &b) {
    return a.major == b.major && a.minor == b.minor && a.patch == b.patch;
}

} // namespace

std::optional<Version> parse_version(std::string_view tag) {
    int parts = 0;
    return read_version(tag, parts);
}

int compare_version(const Version &a, const Version &b) {
    if (a.major != b.major) return a.major < b.major ? -1 : 1;
    if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
    if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
    if (a.pre.empty() != b.pre.empty()) return a.pre.empty() ? 1 : -1; // a release beats its pre-releases
    return compare_pre(a.pre, b.pre);
}

int compare_tags(std::string_view a, std::string_view b) {
    auto va = parse_version(a), vb = parse_version(b);
    if (va && vb) {
        if (int c = compare_version(*va, *vb); c != 0) return c;
    } else if (va || vb) {
        return va ? 1 : -1;
    }
    return sign(a.compare(b));
}

Result<TagPolicy> parse_tag_policy(std::string_view text) {
    TagPolicy p;
    p.text = std::string(text);
    auto bad = [&](const std::string &why) {
        return fail(Errc::invalid, "update policy \"" + p.text + "\": " + why);
    };
    if (text.empty()) return p;
    if (text.substr(0, 5) == "glob:") {
        p.kind = TagPolicy::Kind::glob;
        p.pattern = std::string(text.substr(5));
        if (p.pattern.empty()) return bad("the glob pattern is empty");
        for (char c : p.pattern)
            if (!is_tag_char(c) && c != '*' && c != '?')
                return bad(std::string("'") + c + "' cannot occur in an image tag, so the pattern never matches");
        p.pre_allowed = p.pattern.find('-') != std::string::npos;
        return p;
    }
    if (text.substr(0, 7) == "semver:") {
        std::string_view rest = text.substr(7);
        p.kind = TagPolicy::Kind::exact;
        if (!rest.empty() && (rest[0] == '~' || rest[0] == '^')) {
            p.kind = rest[0] == '~' ? TagPolicy::Kind::tilde : TagPolicy::Kind::caret;
            rest.remove_prefix(1);
        }
        int parts = 0;
        auto v = read_version(rest, parts);
        if (!v) return bad("\"" + std::string(rest) + "\" is not a version (MAJOR[.MINOR[.PATCH]][-PRE], e.g. 1.2 or 1.2.3)");
        p.low = *v;
        p.pre_allowed = !v->pre.empty();
        if (p.kind == TagPolicy::Kind::exact) {
            if (parts != 3)
                return bad("an exact version needs MAJOR.MINOR.PATCH; for a range write semver:~" + std::string(rest) +
                           " or semver:^" + std::string(rest));
            return p;
        }
        if (p.kind == TagPolicy::Kind::tilde) {
            p.high = parts == 1 ? Version{v->major + 1, 0, 0, {}} : Version{v->major, v->minor + 1, 0, {}};
        } else if (v->major > 0 || parts == 1) {
            p.high = Version{v->major + 1, 0, 0, {}};
        } else if (v->minor > 0 || parts == 2) {
            p.high = Version{0, v->minor + 1, 0, {}};
        } else {
            p.high = Version{0, 0, v->patch + 1, {}};
        }
        return p;
    }
    return bad("unknown kind; write \"glob:PATTERN\", \"semver:~1.2\", \"semver:^1.2\", \"semver:1.2.3\", or \"\" to pin");
}

bool matches(const TagPolicy &policy, std::string_view tag) {
    if (policy.kind == TagPolicy::Kind::pinned) return false;
    auto v = parse_version(tag);
    if (!v) return false;
    switch (policy.kind) {
    case TagPolicy::Kind::pinned: return false;
    case TagPolicy::Kind::glob: return (v->pre.empty() || policy.pre_allowed) && wildcard_match(policy.pattern, tag);
    case TagPolicy::Kind::exact: return compare_version(*v, policy.low) == 0;
    case TagPolicy::Kind::tilde:
    case TagPolicy::Kind::caret:
        if (!v->pre.empty() && !(policy.pre_allowed && same_release(*v, policy.low))) return false;
        return compare_version(*v, policy.low) >= 0 && compare_version(*v, policy.high) < 0;
    }
    return false;
}

std::optional<std::string> newest_matching(const TagPolicy &policy, const std::vector<std::string> &tags,
                                           const std::set<std::string> &bad_tags) {
    const std::string *best = nullptr;
    for (const auto &t : tags)
        if (!bad_tags.count(t) && matches(policy, t) && (!best || compare_tags(t, *best) > 0)) best = &t;
    if (!best) return std::nullopt;
    return *best;
}

} // namespace fjord
