// The small text formats of the registry protocol: WWW-Authenticate challenges, Link headers
// and podman's auth.json. Pure; the HTTP side is registry.cpp.
#include "images/registry.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <sodium.h>

namespace fjord {
namespace {

void skip_space(std::string_view &s) {
    while (!s.empty() && (s[0] == ' ' || s[0] == '\t')) s.remove_prefix(1);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A token or a quoted-string (with \-escapes), as RFC 9110 auth-params are written.
std::optional<std::string> read_value(std::string_view &s) {
    std::string v;
    if (!s.empty() && s[0] == '"') {
        s.remove_prefix(1);
        while (!s.empty() && s[0] != '"') {
            if (s[0] == '\\' && s.size() > 1) s.remove_prefix(1);
            v += s[0];
            s.remove_prefix(1);
        }
        if (s.empty()) return std::nullopt;
        s.remove_prefix(1);
        return v;
    }
    while (!s.empty() && s[0] != ',' && s[0] != ' ' && s[0] != '\t') {
        v += s[0];
        s.remove_prefix(1);
    }
    return v;
}

} // namespace

std::optional<AuthChallenge> parse_auth_challenge(std::string_view s) {
    skip_space(s);
    AuthChallenge c;
    while (!s.empty() && s[0] != ' ' && s[0] != '\t') {
        c.scheme += s[0];
        s.remove_prefix(1);
    }
    if (c.scheme.empty()) return std::nullopt;
    while (true) {
        skip_space(s);
        while (!s.empty() && s[0] == ',') s.remove_prefix(1), skip_space(s);
        if (s.empty()) return c;
        auto eq = s.find('=');
        if (eq == std::string_view::npos) return c; // token68 (Basic's optional blob): no params
        std::string name = lower(s.substr(0, eq));
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
        s.remove_prefix(eq + 1);
        skip_space(s);
        auto v = read_value(s);
        if (!v) return std::nullopt;
        c.params[name] = *v;
    }
}

std::optional<std::string> next_link(std::string_view s) {
    while (true) {
        auto open = s.find('<');
        if (open == std::string_view::npos) return std::nullopt;
        auto close = s.find('>', open);
        if (close == std::string_view::npos) return std::nullopt;
        std::string target(s.substr(open + 1, close - open - 1));
        s.remove_prefix(close + 1);
        std::string params = lower(s.substr(0, s.find('<')));
        if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
            return target;
    }
}

Result<RegistryCredentialMap> parse_registry_auth(std::string_view json, const std::string &path) {
    auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid, path + ": not a JSON object");
    RegistryCredentialMap out;
    auto auths = j.find("auths");
    if (auths == j.end()) return out;
    if (!auths->is_object()) return fail(Errc::invalid, path + ": \"auths\" is not an object");
    for (auto it = auths->begin(); it != auths->end(); ++it) {
        const std::string where = path + ": auths.\"" + it.key() + "\"";
        if (!it->is_object()) return fail(Errc::invalid, where + " is not an object");
        auto a = it->find("auth");
        if (a == it->end()) continue; // credential helpers and identity tokens are not supported
        if (!a->is_string()) return fail(Errc::invalid, where + ".auth is not a string");
        const std::string &b64 = a->get_ref<const std::string &>();
        std::string plain(b64.size(), '\0');
        std::size_t len = 0;
        if (sodium_base642bin(reinterpret_cast<unsigned char *>(plain.data()), plain.size(), b64.data(), b64.size(),
                              nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
            return fail(Errc::invalid, where + ".auth is not base64");
        plain.resize(len);
        auto colon = plain.find(':');
        if (colon == std::string::npos) return fail(Errc::invalid, where + ".auth is not base64 of \"user:password\"");
        // podman writes keys as "registry" or "registry/namespace"; the registry part is what counts.
        std::string key = it.key();
        if (key.rfind("https://", 0) == 0) key.erase(0, 8);
        if (key.rfind("http://", 0) == 0) key.erase(0, 7);
        key = key.substr(0, key.find('/'));
        if (key == "index.docker.io" || key == "registry-1.docker.io") key = "docker.io";
        out[key] = RegistryCredentials{plain.substr(0, colon), plain.substr(colon + 1)};
    }
    return out;
}

} // namespace fjord
