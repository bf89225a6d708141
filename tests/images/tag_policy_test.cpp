// Update policies for container images: grammar, errors, version order, and the pick.
#include "images/tag_policy.hpp"

#include <doctest/doctest.h>

using namespace fjord;

namespace {

TagPolicy policy(const char *text) {
    auto p = parse_tag_policy(text);
    REQUIRE_MESSAGE(p, (p ? "" : p.error().message));
    return *p;
}

std::string error_of(const char *text) {
    auto p = parse_tag_policy(text);
    REQUIRE(!p);
    CHECK(p.error().code == Errc::invalid);
    return p.error().message;
}

std::string pick(const char *text, std::vector<std::string> tags, std::set<std::string> bad = {}) {
    auto t = newest_matching(policy(text), tags, bad);
    return t ? *t : "(none)";
}

} // namespace

TEST_CASE("versions are read from tags") {
    auto v = parse_version("v1.2.3-rc1");
    REQUIRE(v);
    CHECK(v->major == 1);
    CHECK(v->minor == 2);
    CHECK(v->patch == 3);
    CHECK(v->pre == "rc1");
    auto two = parse_version("1.25");
    REQUIRE(two);
    CHECK(two->minor == 25);
    CHECK(two->patch == 0);
    CHECK(parse_version("7"));
    CHECK(parse_version("1.25.3-alpine")->pre == "alpine");
    for (const char *bad : {"latest", "", "v", "1.", "1..2", "1.2.3.4", "1.2.x", "1.2.3-", "x1.2", "V1.2", "1.2.3+b1",
                            "1234567890123456789.0"})
        CHECK_MESSAGE(!parse_version(bad), bad);
}

TEST_CASE("version order is numeric, with pre-releases below their release") {
    auto lt = [](const char *a, const char *b) {
        CHECK_MESSAGE(compare_tags(a, b) < 0, a << " < " << b);
        CHECK_MESSAGE(compare_tags(b, a) > 0, b << " > " << a);
    };
    lt("1.2.9", "1.2.10");
    lt("1.2.10", "1.3.0");
    lt("1.9.9", "1.10.0");
    lt("1.2.3-rc1", "1.2.3");
    lt("1.2.3-rc9", "1.2.3-rc10");
    lt("1.2.3-alpha", "1.2.3-beta");
    lt("1.2.3-1", "1.2.3-alpha"); // numeric parts below alphanumeric ones, as semver says
    lt("1.2.3-rc.1", "1.2.3-rc.1.1");
    lt("1.2.2", "1.2.3-rc1");
    lt("v1.2.9", "1.2.10");
    lt("latest", "0.0.1"); // a version sorts above any non-version
    CHECK(compare_tags("1.2.3", "1.2.3") == 0);
    CHECK(compare_tags("1.2", "1.2.0") != 0); // ties broken by text, so the order is total
}

TEST_CASE("policy grammar") {
    CHECK(policy("").kind == TagPolicy::Kind::pinned);
    auto g = policy("glob:1.2.*");
    CHECK(g.kind == TagPolicy::Kind::glob);
    CHECK(g.pattern == "1.2.*");
    CHECK(!g.pre_allowed);
    CHECK(policy("glob:1.25.*-alpine").pre_allowed);
    CHECK(policy("semver:1.2.3").kind == TagPolicy::Kind::exact);
    CHECK(policy("semver:~1.2").kind == TagPolicy::Kind::tilde);
    CHECK(policy("semver:^v1.2").kind == TagPolicy::Kind::caret);
    CHECK(policy("semver:~1.2.3-rc1").pre_allowed);
}

TEST_CASE("policy errors name the policy text and the reason") {
    CHECK(error_of("1.2.*") == "update policy \"1.2.*\": unknown kind; write \"glob:PATTERN\", \"semver:~1.2\", "
                               "\"semver:^1.2\", \"semver:1.2.3\", or \"\" to pin");
    CHECK(error_of("glob:").find("update policy \"glob:\": the glob pattern is empty") == 0);
    CHECK(error_of("glob:1.2/*").find("'/' cannot occur in an image tag") != std::string::npos);
    CHECK(error_of("glob:1.[23].*").find("update policy \"glob:1.[23].*\": '['") == 0);
    CHECK(error_of("semver:~1.x").find("update policy \"semver:~1.x\": \"1.x\" is not a version") == 0);
    CHECK(error_of("semver:").find("\"\" is not a version") != std::string::npos);
    CHECK(error_of("semver:>=1.2").find("\">=1.2\" is not a version") != std::string::npos);
    CHECK(error_of("semver:1.2").find("an exact version needs MAJOR.MINOR.PATCH; for a range write semver:~1.2 or "
                                      "semver:^1.2") != std::string::npos);
    CHECK(error_of("Glob:1.2.*").find("unknown kind") != std::string::npos);
    CHECK(error_of(" glob:1.2.*").find("unknown kind") != std::string::npos);
}

TEST_CASE("glob policies") {
    auto p = policy("glob:1.2.*");
    CHECK(matches(p, "1.2.1"));
    CHECK(matches(p, "1.2.10"));
    CHECK(!matches(p, "1.3.0"));
    CHECK(!matches(p, "1.2"));           // the pattern wants "1.2." and something
    CHECK(!matches(p, "v1.2.1"));        // a glob matches the text as written
    CHECK(!matches(p, "1.2.3-rc1"));     // pre-releases only when the pattern names one
    CHECK(!matches(policy("glob:*"), "latest")); // non-versions are never picked
    CHECK(matches(policy("glob:1.2.?"), "1.2.7"));
    CHECK(!matches(policy("glob:1.2.?"), "1.2.10"));
    CHECK(matches(policy("glob:1.2.*-rc*"), "1.2.3-rc1"));
    CHECK(matches(policy("glob:1.25.*-alpine"), "1.25.3-alpine"));
    CHECK(!matches(policy("glob:1.25.*-alpine"), "1.25.3"));
    CHECK(matches(policy("glob:v*"), "v2.0.0"));
    CHECK(!matches(policy(""), "1.2.3")); // pinned never moves
}

TEST_CASE("semver tilde and caret ranges") {
    auto t = policy("semver:~1.2");
    CHECK(matches(t, "1.2.0"));
    CHECK(matches(t, "1.2.99"));
    CHECK(matches(t, "v1.2.5"));
    CHECK(matches(t, "1.2")); // 1.2 is 1.2.0
    CHECK(!matches(t, "1.3.0"));
    CHECK(!matches(t, "1.1.9"));
    CHECK(!matches(t, "1.3.0-rc1")); // below 1.3.0, but a pre-release the policy did not name
    CHECK(!matches(t, "1.2.5-rc1"));
    auto t3 = policy("semver:~1.2.3");
    CHECK(!matches(t3, "1.2.2"));
    CHECK(matches(t3, "1.2.3"));
    CHECK(!matches(t3, "1.3.0"));
    auto t1 = policy("semver:~1");
    CHECK(matches(t1, "1.9.0"));
    CHECK(!matches(t1, "2.0.0"));

    auto c = policy("semver:^1.2");
    CHECK(matches(c, "1.2.0"));
    CHECK(matches(c, "1.99.0"));
    CHECK(!matches(c, "2.0.0"));
    CHECK(!matches(c, "1.1.0"));
    CHECK(!matches(c, "2.0.0-rc1"));
    auto c0 = policy("semver:^0.2.3");
    CHECK(matches(c0, "0.2.9"));
    CHECK(!matches(c0, "0.3.0"));
    CHECK(!matches(c0, "0.2.2"));
    auto c00 = policy("semver:^0.0.3");
    CHECK(matches(c00, "0.0.3"));
    CHECK(!matches(c00, "0.0.4"));
    CHECK(matches(policy("semver:^0"), "0.9.0"));
    CHECK(!matches(policy("semver:^0"), "1.0.0"));
    CHECK(matches(policy("semver:^0.0"), "0.0.9"));
    CHECK(!matches(policy("semver:^0.0"), "0.1.0"));
}

TEST_CASE("semver pre-releases only when named, and only of that release") {
    auto p = policy("semver:~1.2.3-rc1");
    CHECK(matches(p, "1.2.3-rc1"));
    CHECK(matches(p, "1.2.3-rc2"));
    CHECK(matches(p, "1.2.3"));
    CHECK(matches(p, "1.2.4"));
    CHECK(!matches(p, "1.2.4-rc1")); // another release's pre-release
    CHECK(!matches(p, "1.2.3-rc0")); // below the lower bound
}

TEST_CASE("exact semver") {
    auto p = policy("semver:1.2.3");
    CHECK(matches(p, "1.2.3"));
    CHECK(matches(p, "v1.2.3"));
    CHECK(!matches(p, "1.2.4"));
    CHECK(!matches(p, "1.2.3-rc1"));
    CHECK(matches(policy("semver:1.2.3-rc1"), "1.2.3-rc1"));
}

TEST_CASE("newest matching: version order, bad tags skipped") {
    const std::vector<std::string> tags = {"1.2.1", "1.2.2", "1.2.10", "1.3.0", "1.2.3-rc1", "latest", "1.2.9"};
    CHECK(pick("glob:1.2.*", tags) == "1.2.10");
    CHECK(pick("glob:1.2.*", tags, {"1.2.10"}) == "1.2.9");
    CHECK(pick("glob:1.2.*", tags, {"1.2.10", "1.2.9", "1.2.2", "1.2.1"}) == "(none)");
    CHECK(pick("semver:~1.2", tags) == "1.2.10");
    CHECK(pick("semver:^1.2", tags) == "1.3.0");
    CHECK(pick("semver:^1.2", tags, {"1.3.0"}) == "1.2.10");
    CHECK(pick("semver:~1.2.3-rc1", tags) == "1.2.10");
    CHECK(pick("glob:1.2.*-*", tags) == "1.2.3-rc1");
    CHECK(pick("semver:1.2.2", tags) == "1.2.2");
    CHECK(pick("semver:~2.0", tags) == "(none)");
    CHECK(pick("", tags) == "(none)");
    CHECK(pick("glob:1.2.*", {}) == "(none)");
    // The same version written twice: the pick is stable whatever the list order.
    CHECK(pick("semver:~1.2", {"1.2.0", "v1.2.0"}) == pick("semver:~1.2", {"v1.2.0", "1.2.0"}));
}
