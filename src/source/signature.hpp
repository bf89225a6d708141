#pragma once
// Signed commits: git's SSH signatures (gpg.format = ssh, OpenSSH's SSHSIG format, see
// PROTOCOL.sshsig) verified on libsodium against an allowed-signers file (ssh-keygen(1),
// ALLOWED SIGNERS). Only ssh-ed25519 keys are accepted; fjord runs no ssh-keygen or gpg.
#include "util/result.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

class GitSource;

/// One usable line of an allowed-signers file.
struct AllowedSigner {
    std::string principals;              ///< the first field, as written ("alice@example.net,bob@*")
    std::vector<std::string> namespaces; ///< namespaces="..." patterns; empty = any
    std::int64_t valid_after = 0;        ///< seconds since the epoch; 0 = no bound
    std::int64_t valid_before = 0;       ///< seconds since the epoch; 0 = no bound
    std::string key;                     ///< the public key in ssh wire format ("ssh-ed25519", 32 bytes)
    std::string origin;                  ///< "FILE:LINE", for messages
};

/// An allowed-signers file: the ed25519 keys it allows, and notes on lines fjord skipped
/// (cert-authority lines, other key types), each naming FILE:LINE.
struct AllowedSigners {
    std::string file; ///< where it came from, for messages
    std::vector<AllowedSigner> keys;
    std::vector<std::string> notes;
};

/// Parses allowed-signers text; `file` names it in errors ("FILE:LINE: reason").
[[nodiscard]] Result<AllowedSigners> parse_allowed_signers(std::string_view text, const std::string &file);
/// Reads and parses an allowed-signers file (at most 1 MiB).
[[nodiscard]] Result<AllowedSigners> load_allowed_signers(const std::string &file);

/// The fields of an SSHSIG blob.
struct SshSig {
    std::string public_key;     ///< ssh wire format
    std::string ns;             ///< the namespace ("git" for commits)
    std::string hash_algorithm; ///< "sha512" or "sha256"
    std::string signature;      ///< ssh signature blob: string type, string bytes
};

/// Parses an armored "-----BEGIN SSH SIGNATURE-----" block (Errc::invalid when malformed).
[[nodiscard]] Result<SshSig> parse_sshsig(std::string_view armored);

/// The key's fingerprint as ssh-keygen -l prints it: "SHA256:" + unpadded base64 of SHA-256.
[[nodiscard]] std::string ssh_fingerprint(std::string_view key_blob);

/// Who signed: the fingerprint and the allowed-signers line that allowed it.
struct Signer {
    std::string fingerprint;
    std::string principals;
    std::string origin;
};

/// Verifies an armored SSHSIG over `message` for namespace `ns` at time `now` against
/// `allowed`. Errc::refused, naming the key's fingerprint, when the signature does not verify,
/// is for another namespace, or its key is not allowed (or not ed25519, or out of validity).
[[nodiscard]] Result<Signer> verify_sshsig(std::string_view armored, std::string_view message, std::string_view ns,
                                           const AllowedSigners &allowed, std::int64_t now);

/// Checks the head commit before anything of it is rendered: its "gpgsig" header must be an
/// SSH signature, namespace "git", by a key in the allowed-signers file. Errc::refused for an
/// unsigned or badly signed commit; Errc::invalid / Errc::io for a bad allowed-signers file.
[[nodiscard]] Result<Signer> verify_commit_signature(GitSource &source, const std::string &commit,
                                                     const std::string &allowed_signers_file);

} // namespace fjord
