// The Docker Registry HTTP API v2 over libcurl (the library the health checks use already):
// GET /v2/NAME/tags/list (following Link pages) and HEAD /v2/NAME/manifests/TAG, with the
// token dance of a Bearer challenge. Every answer is bounded in size and time.
#include "images/registry.hpp"

#include <algorithm>
#include "util/curl.hpp"
#include <cctype>
#include <nlohmann/json.hpp>
#include <sodium.h>

namespace fjord {
namespace {

constexpr std::size_t max_header_bytes = 64 * 1024;
constexpr const char *manifest_accept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

struct Response {
    long status = 0;
    std::map<std::string, std::string> headers; ///< lower-case name -> last value
    std::string body;
};

struct Sink {
    Response *r;
    std::size_t max_body;
    std::size_t header_bytes = 0;
    bool too_big = false;
};

std::size_t on_body(char *data, std::size_t size, std::size_t n, void *user) {
    auto *s = static_cast<Sink *>(user);
    std::size_t len = size * n;
    if (s->r->body.size() + len > s->max_body) {
        s->too_big = true;
        return 0; // aborts the transfer: CURLE_WRITE_ERROR
    }
    s->r->body.append(data, len);
    return len;
}

std::size_t on_header(char *data, std::size_t size, std::size_t n, void *user) {
    auto *s = static_cast<Sink *>(user);
    std::size_t len = size * n;
    if ((s->header_bytes += len) > max_header_bytes) {
        s->too_big = true;
        return 0;
    }
    std::string_view line(data, len);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.substr(0, 5) == "HTTP/") {
        s->r->headers.clear(); // a new answer (after a redirect): its own headers only
        return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    std::string name(line.substr(0, colon));
    for (auto &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    s->r->headers[name] = std::string(value);
    return len;
}

// A string member of a JSON object, or "" (json::value() would throw on another type).
std::string str_field(const nlohmann::json &j, const char *key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string header(const Response &r, const std::string &name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
}

// "NAME_UNKNOWN: repository name not known to registry" from a registry's error body.
std::string registry_error(const Response &r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return {};
    auto errors = j.find("errors");
    if (errors == j.end() || !errors->is_array() || errors->empty() || !(*errors)[0].is_object()) return {};
    std::string code = str_field((*errors)[0], "code"), message = str_field((*errors)[0], "message");
    return message.empty() ? code : code + ": " + message;
}

bool valid_sha256(std::string_view d) {
    if (d.size() != 71 || d.substr(0, 7) != "sha256:") return false;
    for (char c : d.substr(7))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// The host of "scheme://host[:port]/…", for the loopback test of a token realm.
std::string url_authority(std::string_view url) {
    auto p = url.find("://");
    if (p == std::string_view::npos) return {};
    url.remove_prefix(p + 3);
    return std::string(url.substr(0, url.find_first_of("/?#")));
}

class HttpRegistryClient final : public RegistryClient {
  public:
    explicit HttpRegistryClient(RegistryOptions o) : opt_(std::move(o)) {}

    Result<std::vector<std::string>> list_tags(const ImageRef &ref) override {
        const std::string ctx = where(ref) + ": list tags";
        const std::string base = registry_endpoint(ref.registry);
        std::string url = base + "/v2/" + ref.repository + "/tags/list";
        if (opt_.page_size > 0) url += "?n=" + std::to_string(opt_.page_size);
        std::vector<std::string> tags;
        for (int page = 0;; ++page) {
            if (page == opt_.max_pages)
                return fail(Errc::network, ctx + ": more than " + std::to_string(opt_.max_pages) +
                                               " pages of tags; not reading on");
            auto r = call(ref, "GET", url, {"Accept: application/json"});
            if (!r) return fail(std::move(r.error()).context(ctx));
            if (r->status == 404) return fail(Errc::not_found, ctx + ": " + not_found(*r, "unknown repository"));
            if (r->status != 200) return fail(Errc::network, ctx + ": " + unexpected(*r));
            auto j = nlohmann::json::parse(r->body, nullptr, false);
            if (j.is_discarded() || !j.is_object())
                return fail(Errc::network, ctx + ": malformed JSON in the answer to " + url);
            auto t = j.find("tags");
            if (t != j.end() && !t->is_null()) { // a repository without tags may say "tags": null
                if (!t->is_array()) return fail(Errc::network, ctx + ": malformed JSON: \"tags\" is not a list");
                for (const auto &tag : *t) {
                    if (!tag.is_string()) return fail(Errc::network, ctx + ": malformed JSON: a tag is not a string");
                    tags.push_back(tag.get<std::string>());
                }
            }
            auto next = next_link(header(*r, "link"));
            if (!next) return tags;
            if (next->rfind("/", 0) == 0) {
                url = base + *next;
            } else if (next->rfind(base + "/", 0) == 0) {
                url = *next;
            } else {
                return fail(Errc::network, ctx + ": the next page is on another host (" + *next + ")");
            }
        }
    }

    Result<std::string> manifest_digest(const ImageRef &ref, const std::string &tag) override {
        const std::string ctx = where(ref) + ": manifest of tag " + tag;
        const std::string url = registry_endpoint(ref.registry) + "/v2/" + ref.repository + "/manifests/" + tag;
        auto r = call(ref, "HEAD", url, {manifest_accept});
        if (!r) return fail(std::move(r.error()).context(ctx));
        if (r->status == 200) {
            std::string d = header(*r, "docker-content-digest");
            if (valid_sha256(d)) return d;
        }
        // A HEAD answer has no body: a GET says why it failed, or gives the manifest itself
        // to hash when a registry sends no Docker-Content-Digest.
        r = call(ref, "GET", url, {manifest_accept});
        if (!r) return fail(std::move(r.error()).context(ctx));
        if (r->status == 404) return fail(Errc::not_found, ctx + ": " + not_found(*r, "unknown tag"));
        if (r->status != 200) return fail(Errc::network, ctx + ": " + unexpected(*r));
        if (std::string d = header(*r, "docker-content-digest"); valid_sha256(d)) return d;
        unsigned char sum[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(sum, reinterpret_cast<const unsigned char *>(r->body.data()), r->body.size());
        char hex[2 * sizeof sum + 1];
        sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
        return "sha256:" + std::string(hex);
    }

  private:
    struct Token {
        std::string value;
        std::chrono::steady_clock::time_point expires;
    };

    static std::string where(const ImageRef &ref) { return "registry " + ref.registry + ", image " + ref.repository; }

    static std::string not_found(const Response &r, const std::string &fallback) {
        std::string e = registry_error(r);
        if (e.rfind("NAME_UNKNOWN", 0) == 0) return "unknown repository (404 " + e + ")";
        if (e.rfind("MANIFEST_UNKNOWN", 0) == 0) return "unknown tag (404 " + e + ")";
        return fallback + " (404" + (e.empty() ? "" : " " + e) + ")";
    }

    static std::string unexpected(const Response &r) {
        std::string e = registry_error(r);
        return "unexpected answer HTTP " + std::to_string(r.status) + (e.empty() ? "" : " (" + e + ")");
    }

    const RegistryCredentials *credentials(const std::string &registry) const {
        auto it = opt_.credentials.find(registry);
        return it == opt_.credentials.end() ? nullptr : &it->second;
    }

    // One HTTP exchange; errors say only what went wrong, the caller names the image.
    Result<Response> perform(const char *method, const std::string &url, const std::vector<std::string> &headers,
                             bool allow_http, const RegistryCredentials *basic = nullptr) {
        char err[CURL_ERROR_SIZE];
        curl_ptr c = curl_handle("fjord", err);
        if (!c) return fail(Errc::internal, "cannot set up libcurl");
        Response r;
        Sink sink{&r, opt_.max_body};
        curl_slist_ptr list;
        for (const auto &h : headers) {
            curl_slist *l = curl_slist_append(list.get(), h.c_str());
            if (!l) return fail(Errc::internal, "out of memory");
            (void)list.release();
            list.reset(l);
        }
        const char *protocols = allow_http ? "http,https" : "https";
        CURL *h = c.get();
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt_.connect_timeout.count()));
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.timeout.count()));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
        if (std::string_view(method) == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        if (basic) {
            curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
            curl_easy_setopt(h, CURLOPT_USERNAME, basic->username.c_str());
            curl_easy_setopt(h, CURLOPT_PASSWORD, basic->password.c_str());
        }
        CURLcode rc = curl_easy_perform(h);
        if (sink.too_big)
            return fail(Errc::network, "the answer is larger than " + std::to_string(opt_.max_body) + " bytes");
        if (rc != CURLE_OK) return fail(Errc::network, "unreachable: " + curl_error(rc, err));
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
        return r;
    }

    // A request to the registry, answering a 401 challenge once: Bearer with a token from
    // the realm, Basic with the registry's credentials.
    Result<Response> call(const ImageRef &ref, const char *method, const std::string &url,
                          std::vector<std::string> headers) {
        const bool http = is_loopback_registry(ref.registry);
        const std::string key = ref.registry + " repository:" + ref.repository + ":pull";
        auto cached = tokens_.find(key);
        auto with_token = headers;
        if (cached != tokens_.end() && cached->second.expires > std::chrono::steady_clock::now())
            with_token.push_back("Authorization: Bearer " + cached->second.value);
        auto r = perform(method, url, with_token, http);
        if (!r || r->status != 401) return r;
        tokens_.erase(key);

        const RegistryCredentials *cred = credentials(ref.registry);
        auto ch = parse_auth_challenge(header(*r, "www-authenticate"));
        std::string scheme = ch ? ch->scheme : "";
        for (auto &c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (scheme == "bearer") {
            auto token = fetch_token(ref, *ch, cred);
            if (!token) return fail(std::move(token.error()));
            headers.push_back("Authorization: Bearer " + token->value);
            r = perform(method, url, headers, http);
            if (r && r->status == 401) return fail(Errc::auth, "auth refused: the registry answered 401 to its own token");
            if (r) tokens_[key] = std::move(*token);
            return r;
        }
        if (scheme == "basic") {
            if (!cred) return fail(Errc::auth, "auth refused: the registry asks for a login and none is configured for it");
            r = perform(method, url, headers, http, cred);
            if (r && r->status == 401) return fail(Errc::auth, "auth refused: the registry refused the configured login");
            return r;
        }
        return fail(Errc::auth, "auth refused: HTTP 401 without a Bearer or Basic challenge");
    }

    Result<Token> fetch_token(const ImageRef &ref, const AuthChallenge &ch, const RegistryCredentials *cred) {
        auto realm_it = ch.params.find("realm");
        if (realm_it == ch.params.end() || realm_it->second.empty())
            return fail(Errc::auth, "auth refused: a Bearer challenge without a realm");
        const std::string &realm = realm_it->second;
        const std::string authority = url_authority(realm);
        bool https = realm.rfind("https://", 0) == 0;
        bool loopback_http = realm.rfind("http://", 0) == 0 && is_loopback_registry(authority);
        if (!(https || loopback_http) || authority.empty() || authority.find('@') != std::string::npos)
            return fail(Errc::auth, "auth refused: token realm " + realm + " is not https (plain http only on loopback)");
        auto esc = [](const std::string &s) {
            char *e = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
            std::string out = e ? e : "";
            curl_free(e);
            return out;
        };
        std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
        if (auto s = ch.params.find("service"); s != ch.params.end()) url += "service=" + esc(s->second) + "&";
        auto scope = ch.params.find("scope");
        url += "scope=" + esc(scope != ch.params.end() ? scope->second : "repository:" + ref.repository + ":pull");
        auto r = perform("GET", url, {"Accept: application/json"}, loopback_http, cred);
        const std::string from = "token server " + realm;
        if (!r) return fail(std::move(r.error()).context(from));
        if (r->status == 401 || r->status == 403)
            return fail(Errc::auth, "auth refused by " + from + " (HTTP " + std::to_string(r->status) + ")" +
                                        (cred ? "" : "; no login is configured for this registry"));
        if (r->status != 200) return fail(Errc::network, from + ": " + unexpected(*r));
        auto j = nlohmann::json::parse(r->body, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return fail(Errc::network, from + ": malformed JSON");
        std::string token = str_field(j, "token");
        if (token.empty()) token = str_field(j, "access_token");
        if (token.empty()) return fail(Errc::network, from + ": malformed JSON: no token in the answer");
        long expires = 60; // the spec's default
        if (auto e = j.find("expires_in"); e != j.end() && e->is_number_integer())
            expires = std::max<long>(1, e->get<long>());
        return Token{std::move(token), std::chrono::steady_clock::now() + std::chrono::seconds(expires)};
    }

    RegistryOptions opt_;
    std::map<std::string, Token> tokens_; ///< "registry repository:NAME:pull" -> token
};

} // namespace

std::unique_ptr<RegistryClient> make_registry_client(RegistryOptions options) {
    return std::make_unique<HttpRegistryClient>(std::move(options));
}

} // namespace fjord
