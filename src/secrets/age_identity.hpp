#pragma once
// The host's age identity: an X25519 key pair in age's own encodings (AGE-SECRET-KEY-1… and
// age1…, Bech32), kept in a file in age-keygen's format so the standard `age -d -i FILE` reads
// it too.
#include "secrets/kdf.hpp"
#include "util/result.hpp"
#include <string>
#include <string_view>

namespace fjord {

/// An X25519 recipient: the public half, "age1…".
struct AgeRecipient {
    Key32 key{};

    /// Parses "age1…" (Bech32, hrp "age", 32 bytes).
    [[nodiscard]] static Result<AgeRecipient> parse(std::string_view text);
    /// "age1…", lower case, as age prints it.
    [[nodiscard]] std::string encode() const;
};

/// An X25519 identity: the secret scalar and its recipient. The secret is wiped when the
/// object dies.
class AgeIdentity {
  public:
    /// A new random identity (libsodium's CSPRNG).
    [[nodiscard]] static Result<AgeIdentity> generate();
    /// Parses "AGE-SECRET-KEY-1…" (Bech32, hrp "age-secret-key-", 32 bytes). The message of
    /// an error never repeats the text, which is key material.
    [[nodiscard]] static Result<AgeIdentity> parse(std::string_view text);

    /// "AGE-SECRET-KEY-1…", upper case, as age-keygen writes it.
    [[nodiscard]] std::string encode() const;
    [[nodiscard]] const AgeRecipient &recipient() const { return recipient_; }
    /// The secret scalar, for the X25519 unwrap in age.cpp.
    [[nodiscard]] const Key32 &secret() const { return secret_; }

    /// A keyed digest of a secret file's plaintext (64 hex digits): HMAC-SHA-256 under a key
    /// derived from this identity. The generation store keeps it so the drift pass can tell
    /// whether a live secret changed, without ever storing the plaintext or a plain hash of it
    /// (a plain hash of a short password can be brute-forced offline; this one cannot without
    /// the identity, which decrypts the secret anyway).
    [[nodiscard]] std::string digest(std::string_view plaintext) const;

    AgeIdentity(const AgeIdentity &) = default;
    AgeIdentity &operator=(const AgeIdentity &) = default;
    ~AgeIdentity();

  private:
    explicit AgeIdentity(const Key32 &secret);
    Key32 secret_{};
    AgeRecipient recipient_;
};

/// Reads an identity file in age-keygen's format: blank lines and '#' comments, then one
/// AGE-SECRET-KEY-1 line. Refuses a file that group or others may read. Errc::not_found when
/// the file does not exist.
[[nodiscard]] Result<AgeIdentity> load_identity_file(const std::string &path);

/// Loads the identity at `path`, creating it first when there is none: a new key written
/// tmp -> fsync -> link (never over an existing file) with mode 0600, its missing folders made
/// 0700. `created` says whether this call made it.
[[nodiscard]] Result<AgeIdentity> ensure_identity_file(const std::string &path, bool *created = nullptr);

/// Initialises libsodium once; every entry point of secrets/ calls it.
[[nodiscard]] Status sodium_ready();

} // namespace fjord
