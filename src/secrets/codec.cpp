#include "secrets/codec.hpp"

#include <array>
#include <sodium.h>
#include <cstdint>
#include <vector>

namespace fjord {
namespace {

constexpr std::string_view b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

constexpr std::string_view bech32_charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint32_t bech32_polymod(const std::vector<std::uint8_t> &values) {
    static constexpr std::array<std::uint32_t, 5> gen{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    std::uint32_t chk = 1;
    for (auto v : values) {
        std::uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (int i = 0; i < 5; ++i)
            if ((top >> i) & 1) chk ^= gen[static_cast<std::size_t>(i)];
    }
    return chk;
}

/// Bech32 carries secret keys (AGE-SECRET-KEY-1…): scratch copies of their bits are wiped.
void scrub(std::vector<std::uint8_t> &v) { sodium_memzero(v.data(), v.size()); }

/// The hrp's checksum prefix, with room for `extra` more values (appended without reallocating).
std::vector<std::uint8_t> hrp_expand(std::string_view hrp, std::size_t extra) {
    std::vector<std::uint8_t> out;
    out.reserve(hrp.size() * 2 + 1 + extra);
    for (char c : hrp) out.push_back(static_cast<std::uint8_t>(static_cast<unsigned char>(c) >> 5));
    out.push_back(0);
    for (char c : hrp) out.push_back(static_cast<std::uint8_t>(c & 31));
    return out;
}

} // namespace

std::string base64_encode(std::string_view data, bool padded) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(data[k])); };
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        for (int s = 18; s >= 0; s -= 6) out += b64_alphabet[(v >> s) & 63];
    }
    std::size_t rest = data.size() - i;
    if (rest == 0) return out;
    std::uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    if (rest == 2) out += b64_alphabet[(v >> 6) & 63];
    if (padded) out.append(3 - rest, '=');
    return out;
}

std::optional<std::string> base64_decode(std::string_view text, bool padded) {
    if (padded) {
        if (text.size() % 4 != 0) return std::nullopt;
        std::size_t pad = 0;
        while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
        text.remove_suffix(pad);
        // Exactly the padding a short last group needs: "QQ==" but not "QQ=" or "QUI=="
        if (pad != (4 - text.size() % 4) % 4) return std::nullopt;
    }
    if (text.size() % 4 == 1) return std::nullopt; // 6 bits cannot end a byte
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v = b64_value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // The bits left over must be zero, else "QR" and "QQ" would both decode to "A".
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

std::string bech32_encode(std::string_view hrp, std::string_view data) {
    std::vector<std::uint8_t> five;
    five.reserve(data.size() * 8 / 5 + 1);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : data) {
        acc = (acc << 8) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            five.push_back(static_cast<std::uint8_t>((acc >> bits) & 31));
        }
    }
    if (bits > 0) five.push_back(static_cast<std::uint8_t>((acc << (5 - bits)) & 31));
    auto values = hrp_expand(hrp, five.size() + 6);
    values.insert(values.end(), five.begin(), five.end());
    values.insert(values.end(), 6, 0);
    std::uint32_t mod = bech32_polymod(values) ^ 1;
    std::string out;
    out.reserve(hrp.size() + 1 + five.size() + 6); // one buffer, no stale copies of a key left behind
    out += hrp;
    out += '1';
    for (auto v : five) out += bech32_charset[v];
    for (int i = 0; i < 6; ++i) out += bech32_charset[(mod >> (5 * (5 - i))) & 31];
    scrub(five);
    scrub(values);
    return out;
}

std::optional<Bech32> bech32_decode(std::string_view text) {
    bool lower = false, upper = false;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) return std::nullopt;
        lower = lower || (c >= 'a' && c <= 'z');
        upper = upper || (c >= 'A' && c <= 'Z');
    }
    if (lower && upper) return std::nullopt;
    auto sep = text.rfind('1');
    if (sep == std::string_view::npos || sep == 0 || sep + 7 > text.size()) return std::nullopt;
    Bech32 out;
    for (char c : text.substr(0, sep)) out.hrp += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    std::vector<std::uint8_t> five;
    five.reserve(text.size() - sep);
    for (char c : text.substr(sep + 1)) {
        char l = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        auto p = bech32_charset.find(l);
        if (p == std::string_view::npos) return std::nullopt;
        five.push_back(static_cast<std::uint8_t>(p));
    }
    auto values = hrp_expand(out.hrp, five.size());
    values.insert(values.end(), five.begin(), five.end());
    bool valid = bech32_polymod(values) == 1;
    scrub(values);
    if (!valid) {
        scrub(five);
        return std::nullopt;
    }
    five.resize(five.size() - 6);
    out.data.reserve(five.size() * 5 / 8);
    std::uint32_t acc = 0;
    int bits = 0;
    for (auto v : five) {
        acc = (acc << 5) | v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.data += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    scrub(five);
    // Padding is at most 4 zero bits; more, or a set bit, is a different encoding of the data.
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) {
        sodium_memzero(out.data.data(), out.data.size());
        return std::nullopt;
    }
    return out;
}

} // namespace fjord
