#pragma once
// HMAC-SHA-256 and HKDF-SHA-256 (RFC 5869), on libsodium's crypto_auth_hmacsha256. age derives
// every key with HKDF; libsodium 1.0.18 (bookworm) has HMAC but no HKDF of its own.
#include <array>
#include <cstddef>
#include <string_view>

namespace fjord {

/// A 32-byte key or MAC.
using Key32 = std::array<unsigned char, 32>;

/// HMAC-SHA-256 of `msg` under `key` (any length).
[[nodiscard]] Key32 hmac_sha256(std::string_view key, std::string_view msg);

/// HKDF-SHA-256: extract with `salt` ("" = 32 zero bytes), expand with `info` into out[0..len).
/// len must be at most 255 * 32 bytes.
void hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, unsigned char *out,
                 std::size_t len);

/// HKDF-SHA-256 into a 32-byte key (what age needs everywhere).
[[nodiscard]] Key32 hkdf_key(std::string_view ikm, std::string_view salt, std::string_view info);

/// The bytes of a fixed-size key as a string_view, for the functions above.
template <std::size_t N> [[nodiscard]] std::string_view bytes(const std::array<unsigned char, N> &a) {
    return {reinterpret_cast<const char *>(a.data()), N};
}

} // namespace fjord
