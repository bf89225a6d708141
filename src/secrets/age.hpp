#pragma once
// The age v1 file format (age-encryption.org/v1, C2SP): X25519 recipient stanzas, the header
// MAC, the ChaCha20-Poly1305 STREAM payload in 64 KiB chunks, and the ASCII armor. Strict the
// way the specification and its test vectors (C2SP CCTV) require: a file decrypts in exactly
// one way or not at all.
#include "secrets/age_identity.hpp"
#include "util/result.hpp"
#include <span>
#include <string>
#include <string_view>

namespace fjord {

/// Why a decryption failed, in the classes of the age test vectors.
enum class AgeFailure { none, armor, header, hmac, payload, no_match };

/// "success", "armor failure", "header failure", "HMAC failure", "payload failure", "no match":
/// the words of the test vectors' `expect:` line.
[[nodiscard]] const char *age_failure_name(AgeFailure f);

/// Decrypts an age file, binary or ASCII-armored (a file that does not start with the binary
/// intro "age-encryption.org/" is read as armor), with the first of `identities` that opens a
/// stanza. The plaintext lives in one buffer allocated at its final size, so wipe() erases the
/// only copy. `why`, when given, receives the failure class.
[[nodiscard]] Result<std::string> age_decrypt(std::string_view file, std::span<const AgeIdentity> identities,
                                              AgeFailure *why = nullptr);

/// Encrypts `plaintext` to every recipient (one X25519 stanza each, a random file key), as
/// binary age or, with `armor`, as ASCII armor.
[[nodiscard]] Result<std::string> age_encrypt(std::string_view plaintext, std::span<const AgeRecipient> recipients,
                                              bool armor);

/// The ASCII armor of a binary age file: PEM-like, Base64 lines of 64 columns.
[[nodiscard]] std::string age_armor(std::string_view binary);

/// The binary age file inside ASCII armor (Errc::invalid on any deviation from the strict
/// form; surrounding whitespace and CRLF line ends are allowed, as age allows them).
[[nodiscard]] Result<std::string> age_unarmor(std::string_view text);

/// Overwrites a buffer that held plaintext (sodium_memzero), then empties it.
void wipe(std::string &s);

} // namespace fjord
