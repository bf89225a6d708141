#pragma once
// ssh trust for the Git source: libgit2 1.5 hands the server's host key to a callback and checks
// nothing itself, so fjord matches it against source.known_hosts (OpenSSH's format) here. Also
// the check of the deploy key's type, since RSA keys cannot work with Debian's libssh2 1.10.
#include "util/result.hpp"
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// How known_hosts judges a host key.
enum class HostKeyMatch { ok, mismatch, no_entry, revoked };

/// The verdict and, for messages, the key types the file lists for the host.
struct HostKeyVerdict {
    HostKeyMatch match = HostKeyMatch::no_entry;
    std::vector<std::string> known_types; ///< types of the (non-revoked) entries naming the host
};

/// The name known_hosts files use: "host" on port 22, "[host]:port" otherwise.
[[nodiscard]] std::string known_hosts_name(std::string_view host, int port);

/// Judges `key_blob` (the key in ssh wire format, as base64 in known_hosts) offered by
/// host:port against known_hosts text. Plain, wildcard, negated and hashed ("|1|") host
/// fields are understood; a key marked @revoked is refused for every host.
[[nodiscard]] HostKeyVerdict match_host_key(std::string_view known_hosts, std::string_view host, int port,
                                            std::string_view key_blob);

/// Reads the known_hosts file and accepts the key only on a match; otherwise Errc::auth with a
/// message naming the host, the file and the reason.
[[nodiscard]] Status verify_host_key(const std::string &known_hosts_file, std::string_view host, int port,
                                     std::string_view key_blob);

/// The key type ("ssh-ed25519", "ssh-rsa", ...) of a private key file, from the key itself or
/// its ".pub" companion; "" when it cannot be told (e.g. PKCS#8).
[[nodiscard]] Result<std::string> ssh_key_type(const std::string &private_key_path);

/// Refuses a deploy key that cannot work: missing, unreadable, or RSA (Errc::auth).
[[nodiscard]] Status check_ssh_key(const std::string &private_key_path);

/// Decodes standard base64 (with or without padding); false on a bad character.
[[nodiscard]] bool base64_decode(std::string_view in, std::string &out);

/// HMAC-SHA1 of msg under key, as 20 raw bytes (for hashed known_hosts entries).
[[nodiscard]] std::string hmac_sha1(std::string_view key, std::string_view msg);

} // namespace fjord
