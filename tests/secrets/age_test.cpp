// The age format end to end in memory: a known answer from the age test vectors, round trips
// across the STREAM chunk boundaries, the armor, and every class of failure with its message.
// The full set of the age authors' vectors runs in tests/integration/secrets.sh.
#include "secrets/age.hpp"
#include "secrets/codec.hpp"

#include <algorithm>
#include <doctest/doctest.h>

using namespace fjord;

namespace {

// CCTV age vector "x25519": the identity below encrypts "age".
constexpr const char *vector_identity = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
constexpr const char *vector_file_b64 =
    "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBURWlGMHlwcXIrYnB2Y3FYTnlDVkpwTDdPdXdQZFZ3UEw3S1FFYkZET0NjCmhqYWJHWHdTTFE5"
    "YzNTNkx3MmkrUzJUdTJmaXdRSEhzbGJCTjZCNDFGTEUKLS0tIFd5SnA5Ri85Rk9aaDdnSmRoZXEyV0lKY3dIZ1ljOE5JVmgzZGR3aHJjTmcK7s9ix86R"
    "tDMnTmjU8vkTTLdMW/73vqpSyPC8DpksHoMx+2Y=";

struct Keys {
    AgeIdentity id = *AgeIdentity::generate();
    AgeIdentity other = *AgeIdentity::generate();
};

std::string encrypt(const std::string &plain, const AgeIdentity &to, bool armor = false) {
    AgeRecipient r = to.recipient();
    auto c = age_encrypt(plain, std::span<const AgeRecipient>(&r, 1), armor);
    REQUIRE(c);
    return *c;
}

/// The failure class and message of a decryption expected to fail.
std::pair<AgeFailure, std::string> failure(std::string_view file, const AgeIdentity &id) {
    AgeFailure why = AgeFailure::none;
    auto r = age_decrypt(file, std::span<const AgeIdentity>(&id, 1), &why);
    REQUIRE_FALSE(r);
    return {why, r.error().message};
}

std::string decrypt(std::string_view file, const AgeIdentity &id) {
    AgeFailure why = AgeFailure::none;
    auto r = age_decrypt(file, std::span<const AgeIdentity>(&id, 1), &why);
    if (!r) FAIL(r.error().message);
    CHECK(why == AgeFailure::none);
    return *r;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
    return s;
}

constexpr std::size_t chunk = 64 * 1024;

} // namespace

TEST_CASE("known answer: the age authors' x25519 vector decrypts to \"age\"") {
    auto id = AgeIdentity::parse(vector_identity);
    REQUIRE(id);
    auto file = base64_decode(vector_file_b64, true);
    REQUIRE(file);
    CHECK(decrypt(*file, *id) == "age");
    CHECK(decrypt(age_armor(*file), *id) == "age");
}

TEST_CASE("round trips across the chunk boundaries, binary and armored") {
    Keys k;
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, chunk - 1, chunk, chunk + 1,
                          2 * chunk, 2 * chunk + 7, 5 * chunk + 3}) {
        CAPTURE(n);
        std::string plain = pattern(n);
        std::string bin = encrypt(plain, k.id);
        std::size_t chunks = n == 0 ? 1 : (n + chunk - 1) / chunk;
        CHECK(bin.rfind("age-encryption.org/v1\n-> X25519 ", 0) == 0);
        CHECK(bin.size() == bin.find("\n---") + 49 + 16 + n + 16 * chunks); // "\n--- " + 43 + "\n", nonce, tags
        CHECK(decrypt(bin, k.id) == plain);
        std::string arm = encrypt(plain, k.id, true);
        CHECK(arm.rfind("-----BEGIN AGE ENCRYPTED FILE-----\n", 0) == 0);
        CHECK(decrypt(arm, k.id) == plain);
    }
}

TEST_CASE("one file for several recipients opens with each identity") {
    Keys k;
    std::vector<AgeRecipient> rs{k.id.recipient(), k.other.recipient()};
    auto c = age_encrypt("shared", rs, false);
    REQUIRE(c);
    CHECK(decrypt(*c, k.id) == "shared");
    CHECK(decrypt(*c, k.other) == "shared");
    std::vector<AgeRecipient> none;
    CHECK_FALSE(age_encrypt("x", none, false));
}

TEST_CASE("armor: 64 columns, and the strict form age requires") {
    Keys k;
    std::string arm = encrypt(pattern(1000), k.id, true);
    std::size_t lines = 0;
    for (std::size_t p = arm.find('\n') + 1; p < arm.size();) {
        auto nl = arm.find('\n', p);
        std::string line = arm.substr(p, nl - p);
        if (line.rfind("-----END", 0) == 0) break;
        CHECK(line.size() <= 64);
        if (arm.compare(nl + 1, 8, "-----END") != 0) CHECK(line.size() == 64);
        ++lines;
        p = nl + 1;
    }
    CHECK(lines > 10);
    // CRLF and surrounding whitespace are accepted, as by age.
    std::string crlf;
    for (char c : arm) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    CHECK(decrypt(crlf, k.id) == pattern(1000));
    CHECK(decrypt("\n \t\n" + arm + "\n\n", k.id) == pattern(1000));
    // A line re-wrapped at 76 columns, a blank line, trailing garbage: armor failures.
    std::string rewrapped = arm;
    rewrapped.erase(rewrapped.find('\n', 40), 1);
    CHECK(failure(rewrapped, k.id).first == AgeFailure::armor);
    std::string blank = arm;
    blank.insert(blank.find('\n') + 1, "\n");
    CHECK(failure(blank, k.id).first == AgeFailure::armor);
    CHECK(failure(arm + "garbage\n", k.id).first == AgeFailure::armor);
    CHECK(failure(arm.substr(0, arm.rfind("-----END")), k.id).first == AgeFailure::armor);
    auto [why, msg] = failure("just some text\n", k.id);
    CHECK(why == AgeFailure::armor);
    CHECK(msg.find("not an age file") != std::string::npos);
}

TEST_CASE("wrong identity: no match, naming this host's recipient") {
    Keys k;
    auto [why, msg] = failure(encrypt("for someone else", k.other), k.id);
    CHECK(why == AgeFailure::no_match);
    CHECK(msg.find(k.id.recipient().encode()) != std::string::npos);
    CHECK(msg.find("for someone else") == std::string::npos);
}

TEST_CASE("only unknown stanza types: no match, naming the types") {
    Keys k;
    std::string file = encrypt("x", k.id);
    file.replace(file.find("-> X25519"), 9, "-> scrypt");
    auto [why, msg] = failure(file, k.id);
    CHECK(why == AgeFailure::no_match);
    CHECK(msg.find("stanza types: scrypt") != std::string::npos);
}

TEST_CASE("bad header MAC: the header was altered") {
    Keys k;
    std::string file = encrypt("x", k.id);
    auto mac = file.find("--- ") + 4;
    file[mac] = file[mac] == 'A' ? 'B' : 'A';
    auto [why, msg] = failure(file, k.id);
    CHECK(why == AgeFailure::hmac);
    CHECK(msg.find("MAC") != std::string::npos);
    // A grease stanza added to a valid file changes what the MAC covers, too.
    std::string greased = encrypt("x", k.id);
    greased.insert(greased.find("---"), "-> grease\n\n");
    CHECK(failure(greased, k.id).first == AgeFailure::hmac);
}

TEST_CASE("truncated or tampered payload: a payload failure, and no plaintext") {
    Keys k;
    std::string plain = pattern(3 * chunk + 100);
    std::string file = encrypt(plain, k.id);
    std::size_t body = file.find("\n", file.find("--- ")) + 1 + 16;

    std::string flipped = file;
    flipped[body + chunk + 16 + 5] ^= 1; // the second chunk
    auto [why, msg] = failure(flipped, k.id);
    CHECK(why == AgeFailure::payload);
    CHECK(msg.find("chunk 2 of 4") != std::string::npos);

    CHECK(failure(file.substr(0, file.size() - 1), k.id).first == AgeFailure::payload);
    CHECK(failure(file.substr(0, body + chunk + 16), k.id).first == AgeFailure::payload); // cut at a chunk boundary
    CHECK(failure(file + "x", k.id).first == AgeFailure::payload);                        // trailing data
    CHECK(failure(file.substr(0, body), k.id).first == AgeFailure::payload);              // no chunks at all
    CHECK(failure(file.substr(0, body - 3), k.id).first == AgeFailure::header);           // nonce cut short
}

TEST_CASE("header syntax errors are header failures") {
    Keys k;
    std::string file = encrypt("x", k.id);
    auto broken = [&](const std::string &from, const std::string &to) {
        std::string f = file;
        auto at = f.find(from);
        REQUIRE(at != std::string::npos);
        f.replace(at, from.size(), to);
        return failure(f, k.id).first;
    };
    CHECK(broken("age-encryption.org/v1", "age-encryption.org/v2") == AgeFailure::header);
    CHECK(broken("\n-> X25519 ", "\r\n-> X25519 ") == AgeFailure::header);
    CHECK(broken("-> X25519 ", "-> X25519  ") == AgeFailure::header);   // empty argument
    CHECK(broken("-> X25519 ", "->  X25519 ") == AgeFailure::header);
    CHECK(broken("--- ", "---  ") == AgeFailure::header);
    CHECK(broken("--- ", "---") == AgeFailure::header);
    CHECK(broken("-> X25519 ", "-> X25519 extra ") == AgeFailure::header); // two arguments
    CHECK(failure("", k.id).first == AgeFailure::header);
    CHECK(failure(file.substr(0, file.find("---")), k.id).first == AgeFailure::header);
    // A share that is not canonical Base64 (last character's spare bits set).
    std::string share_line = file.substr(file.find("-> X25519 ") + 10, 43);
    // 43 columns carry 258 bits: the last character's 4 spare bits are zero, so the next
    // character of the alphabet decodes to the same 32 bytes, non-canonically.
    std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bad_share = share_line;
    bad_share.back() = alphabet[alphabet.find(bad_share.back()) + 1];
    CHECK(broken(share_line, bad_share) == AgeFailure::header);
    // A share of 31 bytes, and a wrapped file key of the wrong size.
    CHECK(broken(share_line, share_line.substr(0, 42)) == AgeFailure::header);
}

TEST_CASE("wipe erases a buffer in place") {
    std::string s = pattern(100);
    const char *p = s.data();
    wipe(s);
    CHECK(s.empty());
    CHECK(std::all_of(p, p + 100, [](char c) { return c == 0; }));
}
