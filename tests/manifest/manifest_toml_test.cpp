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

namespace {

std::vector<std::string> all_errors(const std::string &text, const std::string &where = origin) {
    Diagnostics all;
    auto m = parse_manifest(text, where, &all);
    std::vector<std::string> out;
    for (const auto &e : all.errors()) out.push_back(e.message);
    return out;
}

} // namespace

TEST_CASE("every error of a manifest is reported, in file order, with its line and column (issue 19)") {
    const std::string text = "colour = 1\n"                         // 1: an unknown top-level key
                             "[file.\"/etc/a\"]\n"
                             "modee = \"0644\"\n"                    // 3: an unknown key
                             "owner = \"a b\"\n"                     // 4: a bad value
                             "[unit.\"app.service\"]\n"
                             "state = \"running\"\n"                 // 6: not one of the choices
                             "enable = \"yes\"\n"                    // 7: the wrong type
                             "[[check]]\n"
                             "name = \"web\"\n"
                             "tcp = \"nohost\"\n"                    // 10
                             "[[hook]]\n"
                             "when = \"later\"\n"                    // 12, and exec missing (11)
                             "timeout = \"2h\"\n";                   // 13
    // Without a sink: the first found, as before.
    auto first = parse_manifest(text, origin);
    REQUIRE_FALSE(first);
    CHECK(first.error().message == "hosts/web1/fjord.toml:1:1: colour: unknown key");
    CHECK(all_errors(text) == std::vector<std::string>{
                                  "hosts/web1/fjord.toml:1:1: colour: unknown key",
                                  "hosts/web1/fjord.toml:3:1: file.\"/etc/a\": modee: unknown key",
                                  "hosts/web1/fjord.toml:4:9: file.\"/etc/a\": owner: bad user or group name \"a b\"",
                                  "hosts/web1/fjord.toml:6:9: unit.\"app.service\": state: \"running\" is not one of started, stopped",
                                  "hosts/web1/fjord.toml:7:10: unit.\"app.service\": enable: expected a boolean, got a string",
                                  "hosts/web1/fjord.toml:10:7: check[1]: tcp: \"nohost\" is not HOST:PORT",
                                  "hosts/web1/fjord.toml:11:1: hook[1]: exec: missing (the command, as an array)",
                                  "hosts/web1/fjord.toml:12:8: hook[1]: when: \"later\" is not one of pre-apply, post-apply, post-rollback",
                                  "hosts/web1/fjord.toml:13:11: hook[1]: timeout: over the limit of 1h (a hook holds up the whole sync)",
                              });
}

TEST_CASE("a container table reports every bad key; a file that is not TOML reports one error") {
    auto errors = all_errors("[container.web]\nimgae = \"x\"\nmemory = \"1KiB\"\nrestart = \"sometimes\"\n");
    REQUIRE(errors.size() == 4);
    CHECK(errors[0] == "hosts/web1/fjord.toml:1:1: container.web: image: missing (the image to run, e.g. \"registry.example.net/app:1.2\")");
    CHECK(errors[1].starts_with("hosts/web1/fjord.toml:2:1: container.web: imgae: unknown key"));
    CHECK(errors[2] == "hosts/web1/fjord.toml:3:10: container.web: memory: must be at least 6MiB (podman's minimum)");
    CHECK(errors[3].starts_with("hosts/web1/fjord.toml:4:11: container.web: restart: \"sometimes\" is not one of"));
    Diagnostics all;
    auto file = parse_container_file("image = 5\nports = [\"x\"]\n", "app", "hosts/web1/containers/app.toml", &all);
    CHECK(all.count() == 2);
    CHECK(all_errors("[file.\"/etc/a\"\nmode = 1\n").size() == 1);
}

TEST_CASE("a manifest with thousands of errors reports the first 100 and counts the rest") {
    std::string text = "[file.\"/etc/a\"]\n";
    for (int i = 0; i < 5000; ++i) text += "k" + std::to_string(i) + " = 1\n";
    auto errors = all_errors(text);
    REQUIRE(errors.size() == Diagnostics::max_per_file + 1);
    CHECK(errors.front() == "hosts/web1/fjord.toml:2:1: file.\"/etc/a\": k0: unknown key");
    CHECK(errors[99] == "hosts/web1/fjord.toml:101:1: file.\"/etc/a\": k99: unknown key");
    CHECK(errors.back() == "... and 4900 more errors not shown (at most 100 are shown per file and 1000 in all)");
}
