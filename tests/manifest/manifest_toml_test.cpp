// [file."PATH"] keys: a host path is normalised as the kernel reads it, whichever way it is
// spelt, so "//etc/x" and "/etc//x" are the same file (issue 16: one was refused as "absolute",
// the other passed).
#include "manifest/manifest_toml.hpp"

#include <doctest/doctest.h>

using namespace fjord;

namespace {

const std::string origin = "hosts/web1/fjord.toml";

/// The host paths of a manifest of one [file."KEY"] table, or its error.
std::string key_of(const std::string &key) {
    auto m = parse_manifest("[file.\"" + key + "\"]\nmode = \"0600\"\n", origin);
    if (!m) return "error: " + m.error().message;
    REQUIRE(m->files.size() == 1);
    return m->files.begin()->first;
}

} // namespace

TEST_CASE("[file] keys are normalised host paths") {
    for (const char *k : {"/etc/x", "//etc/x", "/etc//x", "/etc/./x", "/./etc/x", "///etc///x//", "/etc/x/."}) {
        CAPTURE(k);
        CHECK(key_of(k) == "/etc/x");
    }
    CHECK(key_of("/etc/*.conf") == "/etc/*.conf");
    CHECK(key_of("//etc//nginx/*.conf") == "/etc/nginx/*.conf");
}

TEST_CASE("[file] keys that name no host path are refused, naming the key") {
    CHECK(key_of("etc/x") == "error: " + origin + ":1:7: file.\"etc/x\": must be an absolute host path (\"/etc/...\")");
    CHECK(key_of("") == "error: " + origin + ":1:7: file.\"\": must be an absolute host path (\"/etc/...\")");
    CHECK(key_of("/") == "error: " + origin + ":1:7: file.\"/\": names no file");
    CHECK(key_of("//") == "error: " + origin + ":1:7: file.\"//\": names no file");
    CHECK(key_of("/./") == "error: " + origin + ":1:7: file.\"/./\": names no file");
    CHECK(key_of("/etc/../x") == "error: " + origin + ":1:7: file.\"/etc/../x\": \"..\" is not allowed in a host path");
    CHECK(key_of("//../etc") == "error: " + origin + ":1:7: file.\"//../etc\": \"..\" is not allowed in a host path");
    CHECK(key_of("/etc/a\\rb") == "error: " + origin + ":1:7: file.\"/etc/a\\u000db\": line breaks and NUL are not allowed in a host path");
}

TEST_CASE("two spellings of one host path are the same [file] table twice") {
    auto m = parse_manifest("[file.\"/etc/x\"]\nmode = \"0600\"\n[file.\"//etc/x\"]\nmode = \"0644\"\n", origin);
    REQUIRE_FALSE(m);
    // toml++ hands the keys over sorted, so which of the two is named first is its choice.
    std::string e = m.error().message;
    CHECK((e == origin + ":1:7: file.\"/etc/x\": the same path /etc/x as another [file] table (" + origin + ":3:1: file.\"//etc/x\")" ||
           e == origin + ":3:7: file.\"//etc/x\": the same path /etc/x as another [file] table (" + origin + ":1:1: file.\"/etc/x\")"));
}
