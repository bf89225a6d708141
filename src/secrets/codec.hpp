#pragma once
// The two text encodings of the age format, strict as its specification requires: Base64
// (RFC 4648, canonical only: no stray characters, zero padding bits) and Bech32 (BIP 173,
// which age uses for keys, without BIP 173's 90-character limit).
#include <optional>
#include <string>
#include <string_view>

namespace fjord {

/// Standard Base64 of `data`; with `padded` false the trailing '=' are left off (age stanzas).
[[nodiscard]] std::string base64_encode(std::string_view data, bool padded);

/// Decodes canonical Base64: only the standard alphabet, padding exactly as `padded` says, and
/// unused trailing bits zero. Anything else (whitespace, CR, a non-canonical last character)
/// gives nullopt: two encodings of one value would make MACs over the header ambiguous.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text, bool padded);

/// A decoded Bech32 string: its human-readable part in lower case and its 8-bit data.
struct Bech32 {
    std::string hrp;
    std::string data;
};

/// Bech32 of `data` under `hrp` (lower case; callers upper-case it where the format wants).
[[nodiscard]] std::string bech32_encode(std::string_view hrp, std::string_view data);

/// Decodes Bech32 (all lower or all upper case, valid checksum, no leftover bits); nullopt
/// when any of that fails.
[[nodiscard]] std::optional<Bech32> bech32_decode(std::string_view text);

} // namespace fjord
