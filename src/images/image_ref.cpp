// Image references as docker's reference package normalises them (distribution/reference):
// the first path component is a registry when it has a '.' or ':', is "localhost", or has an
// upper-case letter; otherwise the name is Docker Hub's, with "library/" for one-part names.
#include "images/registry.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

namespace fjord {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// One path component: [a-z0-9]+ ((.|_|__|-+) [a-z0-9]+)*.
bool valid_component(std::string_view c) {
    if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
    for (std::size_t i = 0; i < c.size();) {
        if (lower_alnum(c[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < c.size() && !lower_alnum(c[j])) ++j;
        std::string_view sep = c.substr(i, j - i);
        bool dashes = std::all_of(sep.begin(), sep.end(), [](char x) { return x == '-'; });
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
        i = j;
    }
    return true;
}

// host[:port], host being DNS labels or an IPv4 address, or [IPv6][:port].
bool valid_registry(std::string_view r) {
    std::string_view host = r, port;
    if (!r.empty() && r[0] == '[') {
        auto close = r.find(']');
        if (close == std::string_view::npos) return false;
        host = r.substr(1, close - 1);
        std::string_view rest = r.substr(close + 1);
        if (!rest.empty() && rest[0] != ':') return false;
        if (!rest.empty()) port = rest.substr(1);
        if (!rest.empty() && port.empty()) return false;
        in6_addr a6{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return false;
    } else {
        if (auto colon = r.find(':'); colon != std::string_view::npos) {
            host = r.substr(0, colon);
            port = r.substr(colon + 1);
            if (port.empty()) return false;
        }
        if (host.empty()) return false;
        for (char c : host)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    }
    return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) && port.size() <= 5;
}

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128) return false;
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (!word(t[0])) return false;
    return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool valid_digest(std::string_view d) {
    std::size_t hex = d.substr(0, 7) == "sha256:" ? 64 : d.substr(0, 7) == "sha512:" ? 128 : 0;
    return hex && d.size() == 7 + hex && std::all_of(d.begin() + 7, d.end(), is_hex);
}

// The host part of "host[:port]" or "[v6][:port]".
std::string host_of(std::string_view registry) {
    if (!registry.empty() && registry[0] == '[') return std::string(registry.substr(1, registry.find(']') - 1));
    return std::string(registry.substr(0, registry.find(':')));
}

} // namespace

std::string ImageRef::name() const { return registry + "/" + repository; }

std::string ImageRef::str() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (!digest.empty()) s += "@" + digest;
    return s;
}

Result<ImageRef> parse_image_ref(std::string_view text) {
    auto bad = [&](const std::string &why) {
        return fail(Errc::invalid, "image \"" + std::string(text) + "\": " + why);
    };
    if (text.empty()) return bad("empty");
    ImageRef ref;
    std::string_view rest = text;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        ref.digest = std::string(rest.substr(at + 1));
        rest = rest.substr(0, at);
        if (!valid_digest(ref.digest)) return bad("\"" + ref.digest + "\" is not a digest (sha256: and 64 hex digits)");
    }
    auto last_slash = rest.rfind('/');
    if (auto colon = rest.rfind(':'); colon != std::string_view::npos &&
                                      (last_slash == std::string_view::npos || colon > last_slash)) {
        ref.tag = std::string(rest.substr(colon + 1));
        rest = rest.substr(0, colon);
        if (!valid_tag(ref.tag)) return bad("\"" + ref.tag + "\" is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
    }
    std::string_view path = rest;
    ref.registry = "docker.io";
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
        std::string_view first = rest.substr(0, slash);
        bool upper = std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
        if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || upper) {
            if (!valid_registry(first)) return bad("\"" + std::string(first) + "\" is not a registry host[:port]");
            ref.registry = std::string(first);
            path = rest.substr(slash + 1);
        }
    }
    if (ref.registry == "index.docker.io") ref.registry = "docker.io";
    ref.repository = std::string(path);
    if (ref.registry == "docker.io" && ref.repository.find('/') == std::string::npos)
        ref.repository = "library/" + ref.repository;
    for (std::size_t i = 0, j; i <= path.size(); i = j + 1) {
        j = std::min(path.find('/', i), path.size());
        std::string_view c = path.substr(i, j - i);
        if (!valid_component(c))
            return bad(c.empty() ? "empty repository path component"
                                 : "\"" + std::string(c) + "\" is not a valid repository path component (lower-case "
                                                            "letters and digits, separated by '.', '_', '__' or '-')");
    }
    if (ref.name().size() > 255) return bad("the name is longer than 255 characters");
    if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
    return ref;
}

bool is_loopback_registry(std::string_view registry) {
    std::string host = host_of(registry);
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    if (host == "localhost") return true;
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

std::string registry_endpoint(std::string_view registry) {
    if (registry == "docker.io") return "https://registry-1.docker.io";
    return (is_loopback_registry(registry) ? "http://" : "https://") + std::string(registry);
}

} // namespace fjord
