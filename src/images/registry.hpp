#pragma once
// Container registries as a source of change: image references, and a client for the Docker
// Registry HTTP API v2 that lists an image's tags and resolves a tag to its manifest digest.
//
// Rules (README "Image automation" says the same):
// - A name without a registry is Docker Hub's, as docker normalises it: "nginx:1.25" is
//   docker.io/library/nginx:1.25. podman may resolve short names through registries.conf
//   instead, so write the registry in `image`.
// - HTTPS always, with the system's CA store; plain HTTP only for a loopback registry
//   (127.0.0.0/8, ::1, localhost), as dockerd trusts 127.0.0.0/8 by default.
// - Anonymous first; when the registry answers 401 with a Bearer challenge, a token is fetched
//   from its realm (with the registry's credentials, if any, as Basic auth) and the request
//   retried once. A Basic challenge is answered with the credentials directly.
// - Every answer is bounded in size and time; errors name the registry, the image and why.
#include "util/result.hpp"
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// An image reference, normalised as docker and podman do for fully qualified names.
struct ImageRef {
    std::string registry;   ///< "127.0.0.1:5000", "docker.io" (Docker Hub)
    std::string repository; ///< "demo/bb", "library/nginx"
    std::string tag;        ///< "1.2.1"; "latest" when neither tag nor digest was written; "" with a digest only
    std::string digest;     ///< "sha256:<64 hex>" or ""

    /// registry/repository ("127.0.0.1:5000/demo/bb").
    [[nodiscard]] std::string name() const;
    /// The whole reference: name[:tag][@digest].
    [[nodiscard]] std::string str() const;
};

/// Parses "host[:port]/path[:tag][@sha256:…]"; Errc::invalid naming the text and the reason.
[[nodiscard]] Result<ImageRef> parse_image_ref(std::string_view text);
/// True for a registry on 127.0.0.0/8, ::1 or localhost (any port): plain HTTP allowed.
[[nodiscard]] bool is_loopback_registry(std::string_view registry);
/// Where the registry's API lives: "https://registry-1.docker.io" for docker.io,
/// "http://127.0.0.1:5000" for a loopback registry, "https://HOST[:PORT]" otherwise.
[[nodiscard]] std::string registry_endpoint(std::string_view registry);

/// A login for one registry (podman login's auth.json holds these).
struct RegistryCredentials {
    std::string username;
    std::string password;
};
/// Registry ("127.0.0.1:5000", "docker.io") -> its login.
using RegistryCredentialMap = std::map<std::string, RegistryCredentials>;

/// Parses containers-auth.json (podman login's format: {"auths": {"REGISTRY": {"auth":
/// base64("user:password")}}}); `path` names the file in errors. Never puts a secret in one.
[[nodiscard]] Result<RegistryCredentialMap> parse_registry_auth(std::string_view json, const std::string &path);

/// Limits and logins for a RegistryClient.
struct RegistryOptions {
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{30'000}; ///< per HTTP request
    std::size_t max_body = 1u << 20;           ///< per answer; a larger one is an error
    int max_pages = 50;                        ///< tags/list pages followed through Link headers
    int page_size = 0;                         ///< n= on tags/list; 0 = the registry's default
    RegistryCredentialMap credentials;
};

/// The registry operations fjord needs; the daemon holds one, tests use a fake.
class RegistryClient {
  public:
    virtual ~RegistryClient() = default;
    /// All tags of ref's repository (ref.tag is ignored). Errc::network (unreachable, bad
    /// answer, malformed JSON), Errc::not_found (unknown repository), Errc::auth (refused).
    [[nodiscard]] virtual Result<std::vector<std::string>> list_tags(const ImageRef &ref) = 0;
    /// The manifest digest ("sha256:…") `tag` of ref's repository names now, as the registry's
    /// Docker-Content-Digest says. Same error classes; Errc::not_found for an unknown tag.
    [[nodiscard]] virtual Result<std::string> manifest_digest(const ImageRef &ref, const std::string &tag) = 0;
};

/// A RegistryClient over libcurl. Keeps bearer tokens for their lifetime between calls.
[[nodiscard]] std::unique_ptr<RegistryClient> make_registry_client(RegistryOptions options = {});

// Pieces of the protocol, exposed for unit tests.

/// A WWW-Authenticate challenge: scheme ("Bearer", "Basic") and its parameters.
struct AuthChallenge {
    std::string scheme;
    std::map<std::string, std::string> params; ///< realm, service, scope, … (names lower-case)
};
/// Parses `Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"`.
[[nodiscard]] std::optional<AuthChallenge> parse_auth_challenge(std::string_view header);
/// The target of rel="next" in a Link header (`</v2/a/tags/list?last=x&n=2>; rel="next"`).
[[nodiscard]] std::optional<std::string> next_link(std::string_view header);

} // namespace fjord
