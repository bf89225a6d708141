// Image references, registry endpoints and the registry protocol's small formats. The HTTP
// client itself is tested against a real docker-registry in tests/integration/registry.sh.
#include "images/registry.hpp"

#include <doctest/doctest.h>

using namespace fjord;

namespace {

ImageRef ref(const char *text) {
    auto r = parse_image_ref(text);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return *r;
}

std::string ref_error(const char *text) {
    auto r = parse_image_ref(text);
    REQUIRE_MESSAGE(!r, text);
    CHECK(r.error().code == Errc::invalid);
    return r.error().message;
}

const std::string digest = "sha256:" + std::string(64, 'a');

} // namespace

TEST_CASE("image references are normalised as docker does") {
    auto a = ref("127.0.0.1:5000/demo/bb:1.2.1");
    CHECK(a.registry == "127.0.0.1:5000");
    CHECK(a.repository == "demo/bb");
    CHECK(a.tag == "1.2.1");
    CHECK(a.digest.empty());
    CHECK(a.name() == "127.0.0.1:5000/demo/bb");
    CHECK(a.str() == "127.0.0.1:5000/demo/bb:1.2.1");

    auto n = ref("docker.io/library/nginx:1.25");
    CHECK(n.registry == "docker.io");
    CHECK(n.repository == "library/nginx");
    CHECK(n.tag == "1.25");

    CHECK(ref("nginx").str() == "docker.io/library/nginx:latest");
    CHECK(ref("nginx:1.25").str() == "docker.io/library/nginx:1.25");
    CHECK(ref("bitnami/redis:7").str() == "docker.io/bitnami/redis:7");
    CHECK(ref("docker.io/nginx").str() == "docker.io/library/nginx:latest");
    CHECK(ref("index.docker.io/library/nginx:1").registry == "docker.io");
    CHECK(ref("localhost/app").registry == "localhost");
    CHECK(ref("Host/app").registry == "Host"); // an upper-case first part is a registry, as in docker
    CHECK(ref("localhost:5000/app:2").registry == "localhost:5000");
    CHECK(ref("[::1]:5000/a/b:1").registry == "[::1]:5000");
    CHECK(ref("registry.example.net/nordic-app:1.2.3").repository == "nordic-app");
    CHECK(ref("ghcr.io/a_b/c__d/e-f--g/h.i:v1").repository == "a_b/c__d/e-f--g/h.i");

    auto d = ref(("host.example/ns/repo@" + digest).c_str());
    CHECK(d.registry == "host.example");
    CHECK(d.repository == "ns/repo");
    CHECK(d.tag.empty());
    CHECK(d.digest == digest);
    CHECK(d.str() == "host.example/ns/repo@" + digest);
    auto td = ref(("host.example/ns/repo:1.0@" + digest).c_str());
    CHECK(td.tag == "1.0");
    CHECK(td.digest == digest);
}

TEST_CASE("bad image references name the text and the reason") {
    CHECK(ref_error("") == "image \"\": empty");
    CHECK(ref_error("127.0.0.1:5000/Demo/bb:1").find("\"Demo\" is not a valid repository path component") !=
          std::string::npos);
    CHECK(ref_error("127.0.0.1:5000/demo/bb:1.2/x").find("is not a valid") != std::string::npos);
    CHECK(ref_error("127.0.0.1:5000/demo/bb:-1").find("\"-1\" is not a valid tag") != std::string::npos);
    CHECK(ref_error("127.0.0.1:5000/demo/bb@sha256:abc").find("\"sha256:abc\" is not a digest") != std::string::npos);
    CHECK(ref_error("127.0.0.1:5000//bb").find("empty repository path component") != std::string::npos);
    CHECK(ref_error("127.0.0.1:/bb").find("\"127.0.0.1:\" is not a registry host[:port]") != std::string::npos);
    CHECK(ref_error("a.b/c-/d").find("\"c-\"") != std::string::npos);
    CHECK(ref_error(("a.b/" + std::string(260, 'x')).c_str()).find("longer than 255") != std::string::npos);
}

TEST_CASE("plain http only for loopback registries") {
    for (const char *r : {"127.0.0.1:5000", "127.9.8.7", "localhost", "LOCALHOST:80", "[::1]:5000", "[::1]"})
        CHECK_MESSAGE(is_loopback_registry(r), r);
    for (const char *r : {"128.0.0.1:5000", "10.0.0.1", "docker.io", "localhost.example", "[::2]:5000", "127.0.0.1.nip.io"})
        CHECK_MESSAGE(!is_loopback_registry(r), r);
    CHECK(registry_endpoint("docker.io") == "https://registry-1.docker.io");
    CHECK(registry_endpoint("127.0.0.1:5000") == "http://127.0.0.1:5000");
    CHECK(registry_endpoint("[::1]:5000") == "http://[::1]:5000");
    CHECK(registry_endpoint("registry.example.net") == "https://registry.example.net");
}

TEST_CASE("WWW-Authenticate challenges") {
    auto c = parse_auth_challenge(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull")");
    REQUIRE(c);
    CHECK(c->scheme == "Bearer");
    CHECK(c->params["realm"] == "https://auth.docker.io/token");
    CHECK(c->params["service"] == "registry.docker.io");
    CHECK(c->params["scope"] == "repository:library/nginx:pull");
    auto b = parse_auth_challenge(R"(Basic realm="Registry Realm")");
    REQUIRE(b);
    CHECK(b->scheme == "Basic");
    CHECK(b->params["realm"] == "Registry Realm");
    auto spaced = parse_auth_challenge(R"(Bearer Realm = "http://127.0.0.1:1/t" , service=reg, scope="a\"b")");
    REQUIRE(spaced);
    CHECK(spaced->params["realm"] == "http://127.0.0.1:1/t");
    CHECK(spaced->params["service"] == "reg");
    CHECK(spaced->params["scope"] == "a\"b");
    CHECK(!parse_auth_challenge(""));
    CHECK(!parse_auth_challenge(R"(Bearer realm="unterminated)"));
}

TEST_CASE("Link headers lead to the next page") {
    CHECK(next_link(R"(</v2/demo/bb/tags/list?last=1.2.2&n=2>; rel="next")") == "/v2/demo/bb/tags/list?last=1.2.2&n=2");
    CHECK(next_link(R"(<https://a/prev>; rel="prev", <https://a/next>; rel=next)") == "https://a/next");
    CHECK(!next_link(R"(<https://a/prev>; rel="prev")"));
    CHECK(!next_link(""));
}

TEST_CASE("podman auth files") {
    // base64("alice:s3cret") and base64("bob:pw:with:colons")
    auto m = parse_registry_auth(R"({"auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"},
        "https://index.docker.io/v1/": {"auth": "Ym9iOnB3OndpdGg6Y29sb25z"}, "quay.io": {"identitytoken": "x"}}})",
                                 "/etc/fjord/auth.json");
    REQUIRE(m);
    CHECK(m->size() == 2);
    CHECK(m->at("127.0.0.1:5000").username == "alice");
    CHECK(m->at("127.0.0.1:5000").password == "s3cret");
    CHECK(m->at("docker.io").username == "bob");
    CHECK(m->at("docker.io").password == "pw:with:colons");
    CHECK(parse_registry_auth("{}", "f")->empty());

    auto err = [](const char *json) {
        auto r = parse_registry_auth(json, "/etc/fjord/auth.json");
        REQUIRE(!r);
        CHECK(r.error().code == Errc::invalid);
        return r.error().message;
    };
    CHECK(err("[") == "/etc/fjord/auth.json: not a JSON object");
    CHECK(err(R"({"auths": []})") == "/etc/fjord/auth.json: \"auths\" is not an object");
    CHECK(err(R"({"auths": {"r": {"auth": 7}}})") == "/etc/fjord/auth.json: auths.\"r\".auth is not a string");
    CHECK(err(R"({"auths": {"r": {"auth": "!!"}}})") == "/etc/fjord/auth.json: auths.\"r\".auth is not base64");
    // base64("nocolon"): the message names the entry, never the decoded secret
    std::string m2 = err(R"({"auths": {"r": {"auth": "bm9jb2xvbg=="}}})");
    CHECK(m2.find("nocolon") == std::string::npos);
    CHECK(m2 == "/etc/fjord/auth.json: auths.\"r\".auth is not base64 of \"user:password\"");
}
