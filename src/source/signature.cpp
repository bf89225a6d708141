// SSHSIG (OpenSSH PROTOCOL.sshsig) verification on libsodium, for git's SSH-signed commits.
#include "source/signature.hpp"

#include "source/git_source.hpp"
#include "source/known_hosts.hpp"
#include <ctime>
#include <fnmatch.h>
#include <sodium.h>

namespace fjord {
namespace {

constexpr std::string_view armor_begin = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view armor_end = "-----END SSH SIGNATURE-----";
constexpr std::string_view magic = "SSHSIG";

// Reads the ssh wire format: uint32 big-endian, and strings prefixed by their uint32 length.
struct Reader {
    std::string_view in;
    bool u32(std::uint32_t &v) {
        if (in.size() < 4) return false;
        v = (std::uint32_t(std::uint8_t(in[0])) << 24) | (std::uint32_t(std::uint8_t(in[1])) << 16) |
            (std::uint32_t(std::uint8_t(in[2])) << 8) | std::uint32_t(std::uint8_t(in[3]));
        in.remove_prefix(4);
        return true;
    }
    bool str(std::string &s) {
        std::uint32_t n = 0;
        if (!u32(n) || n > in.size()) return false;
        s.assign(in.substr(0, n));
        in.remove_prefix(n);
        return true;
    }
};

void put_string(std::string &out, std::string_view s) {
    auto n = static_cast<std::uint32_t>(s.size());
    out.push_back(static_cast<char>(n >> 24));
    out.push_back(static_cast<char>(n >> 16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
    out.append(s);
}

// A string from the signature (attacker-chosen: namespace, key type, hash name) as it goes
// into a message: anything but printable ASCII escaped, at most 64 bytes of it.
std::string shown(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\') out += c;
        else out += "\\x" + std::string(1, "0123456789abcdef"[u >> 4]) + "0123456789abcdef"[u & 15];
    }
    return s.size() > 64 ? out + "..." : out;
}

std::string key_type(std::string_view blob) {
    Reader r{blob};
    std::string t;
    return r.str(t) ? shown(t) : std::string("an unreadable");
}

// namespaces="..." of an allowed-signers line: ssh's pattern-list, '*' and '?' wildcards and
// '!' negation; a negated match denies.
bool namespace_allowed(const std::vector<std::string> &patterns, std::string_view ns) {
    if (patterns.empty()) return true;
    std::string n(ns);
    bool ok = false;
    for (const auto &p : patterns) {
        bool neg = !p.empty() && p[0] == '!';
        if (::fnmatch((neg ? p.substr(1) : p).c_str(), n.c_str(), 0) == 0) {
            if (neg) return false;
            ok = true;
        }
    }
    return ok;
}

} // namespace

std::string ssh_fingerprint(std::string_view key_blob) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, reinterpret_cast<const unsigned char *>(key_blob.data()), key_blob.size());
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    return std::string("SHA256:") + b64;
}

Result<SshSig> parse_sshsig(std::string_view armored) {
    auto bad = [](const std::string &why) { return fail(Errc::invalid, "not an SSH signature: " + why); };
    auto b = armored.find(armor_begin);
    if (b == std::string_view::npos) {
        if (armored.find("BEGIN PGP SIGNATURE") != std::string_view::npos) return bad("an OpenPGP (gpg) signature; fjord accepts only SSH signatures");
        return bad("no " + std::string(armor_begin) + " line");
    }
    armored.remove_prefix(b + armor_begin.size());
    auto e = armored.find(armor_end);
    if (e == std::string_view::npos) return bad("no " + std::string(armor_end) + " line");
    std::string blob;
    std::string b64;
    for (char c : armored.substr(0, e))
        if (c != ' ' && c != '\t') b64.push_back(c);
    if (!base64_decode(b64, blob)) return bad("the armored body is not base64");
    Reader r{blob};
    if (r.in.substr(0, magic.size()) != magic) return bad("no SSHSIG preamble");
    r.in.remove_prefix(magic.size());
    std::uint32_t version = 0;
    if (!r.u32(version)) return bad("truncated");
    if (version != 1) return bad("version " + std::to_string(version) + " (only version 1 is known)");
    SshSig s;
    std::string reserved;
    if (!r.str(s.public_key) || !r.str(s.ns) || !r.str(reserved) || !r.str(s.hash_algorithm) || !r.str(s.signature))
        return bad("truncated");
    if (!r.in.empty()) return bad("trailing bytes after the signature");
    return s;
}

Result<Signer> verify_sshsig(std::string_view armored, std::string_view message, std::string_view ns,
                             const AllowedSigners &allowed, std::int64_t now) {
    if (sodium_init() < 0) return fail(Errc::internal, "libsodium failed to initialise");
    auto sig = parse_sshsig(armored);
    if (!sig) return fail(Errc::refused, sig.error().message);
    Signer who;
    who.fingerprint = ssh_fingerprint(sig->public_key);
    const std::string by = " (key " + who.fingerprint + ")";
    if (sig->ns != ns)
        return fail(Errc::refused, "signed for namespace '" + shown(sig->ns) + "', not '" + std::string(ns) + "'" + by);
    std::string type = key_type(sig->public_key);
    if (type != "ssh-ed25519") return fail(Errc::refused, "signed with " + type + " key" + by + "; fjord accepts only ssh-ed25519 keys");
    Reader pk{sig->public_key}, sg{sig->signature};
    std::string t, key, sig_type, raw_sig;
    if (!pk.str(t) || !pk.str(key) || !pk.in.empty() || key.size() != crypto_sign_PUBLICKEYBYTES)
        return fail(Errc::refused, "malformed ssh-ed25519 public key in the signature" + by);
    if (!sg.str(sig_type) || !sg.str(raw_sig) || !sg.in.empty() || sig_type != "ssh-ed25519" || raw_sig.size() != crypto_sign_BYTES)
        return fail(Errc::refused, "malformed ssh-ed25519 signature" + by);

    // What the key signed: the preamble, namespace, reserved, hash algorithm and H(message).
    std::string digest;
    if (sig->hash_algorithm == "sha512") {
        digest.resize(crypto_hash_sha512_BYTES);
        crypto_hash_sha512(reinterpret_cast<unsigned char *>(digest.data()), reinterpret_cast<const unsigned char *>(message.data()), message.size());
    } else if (sig->hash_algorithm == "sha256") {
        digest.resize(crypto_hash_sha256_BYTES);
        crypto_hash_sha256(reinterpret_cast<unsigned char *>(digest.data()), reinterpret_cast<const unsigned char *>(message.data()), message.size());
    } else {
        return fail(Errc::refused, "hash algorithm '" + shown(sig->hash_algorithm) + "' is not sha512 or sha256" + by);
    }
    std::string signed_data(magic);
    put_string(signed_data, sig->ns);
    put_string(signed_data, "");
    put_string(signed_data, sig->hash_algorithm);
    put_string(signed_data, digest);
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char *>(raw_sig.data()),
                                    reinterpret_cast<const unsigned char *>(signed_data.data()), signed_data.size(),
                                    reinterpret_cast<const unsigned char *>(key.data())) != 0)
        return fail(Errc::refused, "the signature" + by + " does not verify: the commit or its signature was altered");

    std::string why_not;
    for (const auto &a : allowed.keys) {
        if (a.key != sig->public_key) continue;
        if (!namespace_allowed(a.namespaces, ns)) why_not = a.origin + " does not allow namespace '" + std::string(ns) + "'";
        else if (a.valid_after && now < a.valid_after) why_not = a.origin + " is not valid yet (valid-after)";
        else if (a.valid_before && now >= a.valid_before) why_not = a.origin + " has expired (valid-before)";
        else {
            who.principals = a.principals;
            who.origin = a.origin;
            return who;
        }
    }
    if (!why_not.empty()) return fail(Errc::refused, "signed by " + who.fingerprint + ", but " + why_not);
    std::string msg = "signed by " + who.fingerprint + ", a key that is not in " + allowed.file;
    for (const auto &n : allowed.notes) msg += "; " + n;
    return fail(Errc::refused, msg);
}

Result<Signer> verify_commit_signature(GitSource &source, const std::string &commit, const std::string &allowed_signers_file) {
    auto allowed = load_allowed_signers(allowed_signers_file);
    if (!allowed) return fail(std::move(allowed.error()));
    if (allowed->keys.empty()) {
        std::string msg = allowed_signers_file + ": no usable ssh-ed25519 key, so no commit can be applied";
        for (const auto &n : allowed->notes) msg += "; " + n;
        return fail(Errc::invalid, msg);
    }
    auto sig = source.commit_signature(commit);
    if (!sig && sig.error().code == Errc::not_found)
        return fail(Errc::refused, "not signed, and source.allowed_signers requires a signature by a key in " + allowed_signers_file);
    if (!sig) return fail(std::move(sig.error()));
    // Validity is judged now, not at the commit's own (signer-chosen) time: an expired key
    // cannot sign a backdated commit that would still apply.
    return verify_sshsig(sig->signature, sig->signed_data, "git", *allowed, static_cast<std::int64_t>(std::time(nullptr)));
}

} // namespace fjord
