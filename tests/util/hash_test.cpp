#include "util/hash.hpp"

#include <doctest/doctest.h>

using namespace fjord;

TEST_CASE("seals: what was written reads back; a flipped byte or a cut tail is damage; old text passes") {
    std::string text = "number 3\ncommit abc\n";
    auto s = sealed(text);
    CHECK(s.rfind("sealed ", 0) == 0);
    auto back = unsealed(s, "x");
    REQUIRE(back);
    CHECK(*back == text);
    for (std::size_t at : {std::size_t(10), s.size() - 2}) {
        std::string flipped = s;
        flipped[at] ^= 1;
        auto bad = unsealed(flipped, "STATE/generations/3/info");
        REQUIRE_FALSE(bad);
        CHECK(bad.error().code == Errc::corrupt);
        CHECK(bad.error().message.find("STATE/generations/3/info: damaged") == 0);
    }
    CHECK_FALSE(unsealed(s.substr(0, s.size() - 4), "x"));
    CHECK_FALSE(unsealed(s.substr(0, 20), "x")); // the seal line itself cut short
    CHECK(*unsealed(text, "x") == text);         // written before seals: taken as it is
    CHECK(*unsealed(sealed(""), "x") == "");
}

TEST_CASE("two copies damaged in different bytes mend into what both were; the same byte or too much cannot") {
    std::string s = sealed("f /etc/app/6.conf 80b0aaa4df30533b9f3bf436df865fd55460075b 0644 root root 0 -\n");
    std::string a = s, b = s;
    a[9] ^= 0x20;  // the seal line
    a[40] ^= 0x01; // the id of the seal
    b[60] ^= 0x10; // the path
    b[70] ^= 0x04;
    b[90] ^= 0x80;
    REQUIRE_FALSE(unsealed(a, "a"));
    REQUIRE_FALSE(unsealed(b, "b"));
    auto m = mend_sealed(a, b);
    REQUIRE(m);
    CHECK(*m == s);
    // Both flipped in the same byte: nothing tells which is right.
    std::string c = s, d = s;
    c[60] ^= 1;
    d[60] ^= 2;
    CHECK_FALSE(mend_sealed(c, d));
    CHECK_FALSE(mend_sealed(s, s.substr(1)));   // cut short: not a flip
    CHECK_FALSE(mend_sealed(s, s));             // nothing to mend
    std::string e = s, f = s;                   // more differing bytes than are tried
    for (std::size_t i = 50; i < 80; ++i) f[i] ^= 1;
    CHECK_FALSE(mend_sealed(e, f));
}

TEST_CASE("blob ids are Git's: `echo hello | git hash-object --stdin`") {
    CHECK(blob_id("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a");
    CHECK(blob_id("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"); // git hash-object /dev/null
    std::string nul("a\0b", 3);
    CHECK(blob_id(nul) == "20b5be91886d0b6f26dc98a225c0dac05fe2c86e"); // printf 'a\0b' | git hash-object --stdin
}
