// The building blocks of the age format: strict Base64, Bech32 (BIP 173 vectors and age's keys),
// HMAC-SHA-256 (RFC 4231) and HKDF-SHA-256 (RFC 5869).
#include "secrets/age_identity.hpp"
#include "secrets/codec.hpp"
#include "secrets/kdf.hpp"

#include <doctest/doctest.h>
#include <sodium.h>

using namespace fjord;

namespace {

std::string unhex(std::string_view hex) {
    std::string out(hex.size() / 2, '\0');
    std::size_t len = 0;
    REQUIRE(sodium_hex2bin(reinterpret_cast<unsigned char *>(out.data()), out.size(), hex.data(), hex.size(), nullptr,
                           &len, nullptr) == 0);
    out.resize(len);
    return out;
}

std::string hex(std::string_view bin) {
    std::string out(bin.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char *>(bin.data()), bin.size());
    out.pop_back();
    return out;
}

template <std::size_t N> std::string hex(const std::array<unsigned char, N> &a) { return hex(bytes(a)); }

} // namespace

TEST_CASE("base64 round-trips every length, padded and not") {
    std::string data;
    for (int n = 0; n < 70; ++n) {
        for (bool padded : {true, false}) {
            auto text = base64_encode(data, padded);
            CHECK((text.size() % 4 == 0) == (padded || data.size() % 3 == 0));
            auto back = base64_decode(text, padded);
            REQUIRE(back);
            CHECK(*back == data);
        }
        data += static_cast<char>(n * 37 + 11);
    }
    CHECK(base64_encode("age", true) == "YWdl");
    CHECK(base64_encode("ag", true) == "YWc=");
    CHECK(base64_encode("ag", false) == "YWc");
}

TEST_CASE("base64 refuses every non-canonical form") {
    CHECK(base64_decode("YWc", false) == std::optional<std::string>("ag"));
    CHECK_FALSE(base64_decode("YWc=", false));  // padding where the stanza form has none
    CHECK_FALSE(base64_decode("YWc", true));    // missing padding in the armor
    CHECK_FALSE(base64_decode("YWd", false));   // 'd' leaves non-zero bits: not canonical
    CHECK_FALSE(base64_decode("YQ==", false));
    CHECK(base64_decode("YQ==", true) == std::optional<std::string>("a"));
    CHECK_FALSE(base64_decode("YR==", true));   // non-zero padding bits
    CHECK_FALSE(base64_decode("YQ=", true));
    CHECK_FALSE(base64_decode("YWdl=", true));  // padding after a full group
    CHECK_FALSE(base64_decode("Y", false));     // 6 bits cannot end a byte
    CHECK_FALSE(base64_decode("YW dl", false)); // whitespace
    CHECK_FALSE(base64_decode("YWdl\r", false));
    CHECK_FALSE(base64_decode("YW-_", false));  // the URL alphabet
    CHECK(base64_decode("", false) == std::optional<std::string>(""));
}

TEST_CASE("bech32: BIP 173 valid strings decode and re-encode") {
    for (const char *s : {"A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                          "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
                          "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"}) {
        auto b = bech32_decode(s);
        REQUIRE_MESSAGE(b, s);
        std::string lower = s;
        for (auto &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        // The data of these vectors is not always whole bytes; those that are re-encode exactly.
        if (lower == "a12uel5l" || lower.rfind("abcdef", 0) == 0) CHECK(bech32_encode(b->hrp, b->data) == lower);
    }
}

TEST_CASE("bech32: BIP 173 invalid strings are refused") {
    for (const char *s : {"pzry9x0s0muk",   // no separator
                          "1pzry9x0s0muk",  // empty hrp
                          "x1b4n0q5v",      // invalid data character
                          "li1dgmt3",       // checksum too short
                          "A1G7SGD8",       // checksum computed with an upper-case hrp
                          "a12UEL5L",       // mixed case
                          "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx"}) // wrong checksum
        CHECK_MESSAGE(!bech32_decode(s), s);
    CHECK_FALSE(bech32_decode(std::string("a1\x7f") + "uel5l"));
}

TEST_CASE("age keys: the identity of the age test vectors gives age-keygen's recipient") {
    auto id = AgeIdentity::parse("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0");
    REQUIRE(id);
    CHECK(id->recipient().encode() == "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef");
    CHECK(id->encode() == "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0");
    auto r = AgeRecipient::parse("age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef");
    REQUIRE(r);
    CHECK(r->key == id->recipient().key);
    // Lower case is the same key; one changed character breaks the checksum; a recipient is no identity.
    CHECK(AgeIdentity::parse("age-secret-key-1egtzvffv20835nwyv6270lxyvk2vknx2mmdkwyklmgr48uawx40q2p2lm0"));
    CHECK_FALSE(AgeIdentity::parse("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM1"));
    CHECK_FALSE(AgeIdentity::parse("age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"));
    CHECK_FALSE(AgeRecipient::parse("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"));
    CHECK_FALSE(AgeRecipient::parse("age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"));
    // An error about a bad identity never repeats it.
    auto bad = AgeIdentity::parse("AGE-SECRET-KEY-1SECRETSECRET");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("SECRETSECRET") == std::string::npos);
}

TEST_CASE("age keys: generated identities round-trip and differ") {
    auto a = AgeIdentity::generate(), b = AgeIdentity::generate();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->encode() != b->encode());
    CHECK(a->encode().rfind("AGE-SECRET-KEY-1", 0) == 0);
    CHECK(a->recipient().encode().rfind("age1", 0) == 0);
    auto again = AgeIdentity::parse(a->encode());
    REQUIRE(again);
    CHECK(again->recipient().encode() == a->recipient().encode());
}

TEST_CASE("HMAC-SHA-256: RFC 4231 test cases 1, 2 and 6") {
    CHECK(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("HKDF-SHA-256: RFC 5869 test cases 1, 2 and 3") {
    struct Case {
        std::string ikm, salt, info;
        std::size_t len;
        const char *okm;
    };
    std::string ikm2, salt2, info2;
    for (int i = 0; i < 80; ++i) {
        ikm2 += static_cast<char>(i);
        salt2 += static_cast<char>(0x60 + i);
        info2 += static_cast<char>(0xb0 + i);
    }
    const Case cases[] = {
        {std::string(22, '\x0b'), unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"), 42,
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {ikm2, salt2, info2, 82,
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8"
         "367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {std::string(22, '\x0b'), "", "", 42,
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
    for (const auto &c : cases) {
        std::string out(c.len, '\0');
        hkdf_sha256(c.ikm, c.salt, c.info, reinterpret_cast<unsigned char *>(out.data()), out.size());
        CHECK(hex(out) == c.okm);
    }
    // hkdf_key is the first 32 bytes of the same output.
    CHECK(hex(hkdf_key(cases[0].ikm, cases[0].salt, cases[0].info)) == std::string(cases[0].okm).substr(0, 64));
}
