// SSHSIG verification and allowed-signers parsing, against signatures made by the real
// ssh-keygen -Y sign (OpenSSH 9.2) over MESSAGE and pasted here.
#include "source/signature.hpp"

#include <doctest/doctest.h>

using namespace fjord;

namespace {

const std::string message = "tree 0123\n\nhello fjord\n";
const std::string alice_pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID0ZGnD1LHffNDUmOeC+O+f8U9vtTJUe4tSqZ4LKKHsR alice";
const std::string alice_fp = "SHA256:DdGvNQIWxllR30DcZlb6BYyQlwA+uCMoKv2Br5YV60k"; // ssh-keygen -lf
const std::string ec_pub =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJdjgaBGeYBfxsE3YKpXOYBWHqOsMdnwL7g9FsRy703dUUzSQ/"
    "gd4XMdL1a750yC3DaN60cjhVOMRGUq1Hoek7U= e";

// ssh-keygen -Y sign -f alice -n git
const std::string alice_git = R"(-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgPRkacPUsd980NSY54L475/xT2+
1MlR7i1KpngsooexEAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
AAAAQG54VbP2U5Oxdi+6czrfcZbAQ/7EaHdopR4QptRdYfDi1JNR+gbByStv3DQXIjrJvD
R6h9N5S5rsHxomOowH3Qk=
-----END SSH SIGNATURE-----
)";
// ssh-keygen -Y sign -f alice -n file
const std::string alice_file = R"(-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgPRkacPUsd980NSY54L475/xT2+
1MlR7i1KpngsooexEAAAAEZmlsZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx
OQAAAEAqGYXT1/Jxuk6empp1ZIi/whx6+WHkdLREOV6g/PePlNBSzIFo4j8L+DD57/KFp2
hUvgi5PSU1bAKIDYHvszUL
-----END SSH SIGNATURE-----
)";
// ssh-keygen -Y sign -f mallory -n git (a key not in the allowed signers)
const std::string mallory_git = R"(-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg33vj6Qh522xyRpT2yewxHuVxOe
t+RaIVUJ3bdf/huQcAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
AAAAQNub3qSMe4oNVfi9WUsv8py8Db+1ZPgixjCbdZwOInHBJ3YMifIbpQp8Le/A8AAoSm
p+tk3txD2M3RDes4FkYQo=
-----END SSH SIGNATURE-----
)";
// ssh-keygen -Y sign -f ec -n git (an ecdsa key)
const std::string ec_git = R"(-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE
EEl2OBoEZ5gF/GwTdgqlc5gFYeo6wx2fAvuD0WxHLvTd1RTNJD+B3hcx0vVrvnTILcNo3r
RyOFU4xEZSrUeh6TtQAAAANnaXQAAAAAAAAABnNoYTUxMgAAAGQAAAATZWNkc2Etc2hhMi
1uaXN0cDI1NgAAAEkAAAAgCCb1i61PkJBW2dQDIDBMfOAafC2hLl+vaGDluDz/BtcAAAAh
ALrfBQekJ0F1cc41n1EprA6tWdolm9FFIcEkS0iQE8G3
-----END SSH SIGNATURE-----
)";

AllowedSigners signers(const std::string &text) {
    auto a = parse_allowed_signers(text, "signers");
    REQUIRE_MESSAGE(a, (a ? "" : a.error().message));
    return *a;
}

const std::int64_t now = 1'700'000'000; // 2023-11-14

} // namespace

TEST_CASE("a signature by an allowed ed25519 key verifies, and names the key") {
    auto who = verify_sshsig(alice_git, message, "git", signers("alice@example.net " + alice_pub + "\n"), now);
    REQUIRE_MESSAGE(who, (who ? "" : who.error().message));
    CHECK(who->fingerprint == alice_fp);
    CHECK(who->principals == "alice@example.net");
    CHECK(who->origin == "signers:1");
}

TEST_CASE("the fingerprint is ssh-keygen's") {
    auto a = signers("a " + alice_pub);
    CHECK(ssh_fingerprint(a.keys.at(0).key) == alice_fp);
}

TEST_CASE("tampered data or signature is refused") {
    auto a = signers("alice@example.net " + alice_pub);
    auto r = verify_sshsig(alice_git, message + "x", "git", a, now);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::refused);
    CHECK(r.error().message.find("does not verify") != std::string::npos);
    CHECK(r.error().message.find(alice_fp) != std::string::npos);

    // One flipped base64 character inside the signature bytes (the last line).
    std::string bad = alice_git;
    auto at = bad.find("R6h9N5");
    bad[at] = bad[at] == 'A' ? 'B' : 'A';
    r = verify_sshsig(bad, message, "git", a, now);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::refused);

    r = verify_sshsig(alice_git.substr(0, 120) + "\n-----END SSH SIGNATURE-----\n", message, "git", a, now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("not an SSH signature") != std::string::npos);
    r = verify_sshsig("-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n", message, "git", a, now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("OpenPGP") != std::string::npos);
}

TEST_CASE("a signature for another namespace is refused") {
    auto r = verify_sshsig(alice_file, message, "git", signers("a " + alice_pub), now);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::refused);
    CHECK(r.error().message.find("namespace 'file'") != std::string::npos);
    CHECK(r.error().message.find(alice_fp) != std::string::npos);
}

TEST_CASE("an unknown key, or an ecdsa key, is refused with its fingerprint") {
    auto r = verify_sshsig(mallory_git, message, "git", signers("a " + alice_pub), now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("not in signers") != std::string::npos);
    CHECK(r.error().message.find("SHA256:") != std::string::npos);
    r = verify_sshsig(ec_git, message, "git", signers("a " + alice_pub + "\ne " + ec_pub), now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("only ssh-ed25519") != std::string::npos);
}

TEST_CASE("allowed-signers options: namespaces, validity, cert-authority, other key types") {
    auto r = verify_sshsig(alice_git, message, "git", signers("a namespaces=\"file,mail\" " + alice_pub), now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("signers:1 does not allow namespace 'git'") != std::string::npos);
    CHECK(verify_sshsig(alice_git, message, "git", signers("a namespaces=\"file,g*\" " + alice_pub), now));
    CHECK_FALSE(verify_sshsig(alice_git, message, "git", signers("a namespaces=\"*,!git\" " + alice_pub), now));

    r = verify_sshsig(alice_git, message, "git", signers("a valid-before=\"20230101Z\" " + alice_pub), now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("expired") != std::string::npos);
    r = verify_sshsig(alice_git, message, "git", signers("a valid-after=\"20300101\" " + alice_pub), now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("not valid yet") != std::string::npos);
    CHECK(verify_sshsig(alice_git, message, "git",
                        signers("a valid-after=\"20230101\",valid-before=\"203001010000Z\",namespaces=\"git\" " + alice_pub), now));

    auto a = signers("# comment\n\n\"alice, the admin\" cert-authority " + alice_pub + "\nec " + ec_pub + "\n");
    CHECK(a.keys.empty());
    REQUIRE(a.notes.size() == 2);
    CHECK(a.notes[0].find("signers:3: cert-authority line skipped") == 0);
    CHECK(a.notes[1].find("signers:4: ecdsa-sha2-nistp256 key skipped") == 0);
}

TEST_CASE("a malformed allowed-signers file names the line and the reason") {
    auto check = [](const std::string &text, const std::string &want) {
        auto a = parse_allowed_signers(text, "/etc/fjord/allowed_signers");
        REQUIRE_FALSE(a);
        CHECK(a.error().code == Errc::invalid);
        INFO(a.error().message);
        CHECK(a.error().message.find(want) != std::string::npos);
    };
    check("# ok\nalice\n", "/etc/fjord/allowed_signers:2: a principal but no key");
    check("a ssh-ed25519\n", ":1: ssh-ed25519 but no base64 key");
    check("a ssh-ed25519 !!!notbase64\n", ":1: the ssh-ed25519 key is not valid base64");
    check("a " + ec_pub.substr(0, 20) + "AAAA" + alice_pub.substr(11), ":1: the ecdsa-sha2-nistp256 key is not valid");
    check("a bogus=1 " + alice_pub, ":1: unknown option 'bogus=1'");
    check("a valid-after=\"tomorrow\" " + alice_pub, ":1: valid-after 'tomorrow' is not a time");
    check("\"a " + alice_pub, ":1: unterminated quote");
    check("a namespaces=\"git\"\n", ":1: options but no key");
}
