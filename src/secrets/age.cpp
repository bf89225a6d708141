#include "secrets/age.hpp"

#include "secrets/codec.hpp"
#include "secrets/kdf.hpp"
#include <algorithm>
#include <array>
#include <sodium.h>
#include <vector>

namespace fjord {
namespace {

constexpr std::string_view intro = "age-encryption.org/v1";
constexpr std::string_view x25519_label = "age-encryption.org/v1/X25519";
constexpr std::size_t file_key_size = 16;
constexpr std::size_t tag_size = crypto_aead_chacha20poly1305_ietf_ABYTES; // 16
constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t enc_chunk_size = chunk_size + tag_size;
constexpr std::size_t payload_nonce_size = 16;
constexpr std::size_t body_line_bytes = 48; // 64 columns of unpadded Base64

using FileKey = std::array<unsigned char, file_key_size>;

/// One recipient stanza: "-> TYPE ARGS..." and its body.
struct Stanza {
    std::string_view type;
    std::vector<std::string_view> args;
    std::string body;
};

/// A parsed header: its stanzas, the bytes its MAC covers and the MAC.
struct Header {
    std::vector<Stanza> stanzas;
    std::string_view mac_input; ///< from "age-encryption.org/v1" up to and including "---"
    std::string mac;
    std::size_t end = 0;        ///< offset of the payload
};

/// Sets the failure class and builds the error.
struct Fail {
    AgeFailure *why;
    tl::unexpected<Error> operator()(AgeFailure f, const std::string &msg) const {
        if (why) *why = f;
        return fail(Errc::invalid, msg);
    }
};

std::string_view sv(const unsigned char *p, std::size_t n) { return {reinterpret_cast<const char *>(p), n}; }
const unsigned char *u8(std::string_view s) { return reinterpret_cast<const unsigned char *>(s.data()); }

/// An argument of a stanza line: one or more visible ASCII characters.
bool valid_arg(std::string_view a) {
    if (a.empty()) return false;
    for (char c : a)
        if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126) return false;
    return true;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> out;
    for (std::size_t i = 0;;) {
        auto sp = line.find(' ', i);
        out.push_back(line.substr(i, sp == std::string_view::npos ? std::string_view::npos : sp - i));
        if (sp == std::string_view::npos) return out;
        i = sp + 1;
    }
}

Result<Header> parse_header(std::string_view file, const Fail &f) {
    Header h;
    std::size_t pos = 0;
    // Every header line ends with LF; a CR before it is a different (refused) header.
    auto next_line = [&](std::string_view &line) {
        auto nl = file.find('\n', pos);
        if (nl == std::string_view::npos) return false;
        line = file.substr(pos, nl - pos);
        pos = nl + 1;
        return true;
    };
    std::string_view line;
    if (!next_line(line)) return f(AgeFailure::header, "age header: truncated (no complete first line)");
    if (line != intro) {
        if (line.substr(0, 19) == "age-encryption.org/")
            return f(AgeFailure::header, "age header: unsupported version (only age-encryption.org/v1)");
        return f(AgeFailure::header, "age header: not an age file (no age-encryption.org/v1 line)");
    }
    for (;;) {
        std::size_t line_start = pos;
        if (!next_line(line)) return f(AgeFailure::header, "age header: truncated (no --- line with the MAC)");
        if (line.substr(0, 3) == "---") {
            auto parts = split_spaces(line);
            if (parts[0] != "---" || parts.size() != 2)
                return f(AgeFailure::header, "age header: malformed closing line (want \"--- MAC\")");
            auto mac = base64_decode(parts[1], false);
            if (!mac || mac->size() != 32)
                return f(AgeFailure::header, "age header: the MAC is not 32 bytes of canonical Base64");
            h.mac = std::move(*mac);
            h.mac_input = file.substr(0, line_start + 3);
            h.end = pos;
            break;
        }
        if (line.substr(0, 3) != "-> " && line != "->")
            return f(AgeFailure::header, "age header: malformed line (want a \"-> \" stanza or \"---\")");
        auto parts = split_spaces(line);
        if (parts.size() < 2) return f(AgeFailure::header, "age header: a stanza without a type");
        for (std::size_t i = 1; i < parts.size(); ++i)
            if (!valid_arg(parts[i]))
                return f(AgeFailure::header, "age header: a stanza argument is empty or has characters outside ASCII 33-126");
        Stanza s;
        s.type = parts[1];
        s.args.assign(parts.begin() + 2, parts.end());
        // The body: full lines of 64 columns, ended by a shorter (possibly empty) line.
        for (;;) {
            if (!next_line(line)) return f(AgeFailure::header, "age header: truncated inside a stanza body");
            auto chunk = base64_decode(line, false);
            if (!chunk || chunk->size() > body_line_bytes)
                return f(AgeFailure::header, "age header: a stanza body line is not canonical Base64 of at most 64 columns");
            s.body += *chunk;
            if (chunk->size() < body_line_bytes) break;
        }
        h.stanzas.push_back(std::move(s));
    }
    if (h.stanzas.empty()) return f(AgeFailure::header, "age header: no recipient stanza");
    // The specification: an scrypt (passphrase) stanza must be the header's only stanza.
    for (const auto &s : h.stanzas)
        if (s.type == "scrypt" && h.stanzas.size() > 1)
            return f(AgeFailure::header, "age header: an scrypt stanza must be the only one");
    return h;
}

/// The wrap key of an X25519 stanza: HKDF(shared secret, salt = share || recipient).
Key32 wrap_key(const Key32 &shared, std::string_view share, const Key32 &recipient) {
    std::string salt(share);
    salt.append(bytes(recipient));
    return hkdf_key(bytes(shared), salt, x25519_label);
}

/// Tries each identity on each X25519 stanza, as age does; a malformed X25519 stanza met on
/// the way is an error, one that only fails to open is skipped.
Result<FileKey> unwrap(const Header &h, std::span<const AgeIdentity> ids, const Fail &f) {
    auto x25519 = std::count_if(h.stanzas.begin(), h.stanzas.end(), [](const Stanza &s) { return s.type == "X25519"; });
    for (const auto &id : ids) {
        for (const auto &s : h.stanzas) {
            if (s.type != "X25519") continue;
            if (s.args.size() != 1) return f(AgeFailure::header, "age header: an X25519 stanza needs exactly one argument");
            auto share = base64_decode(s.args[0], false);
            if (!share || share->size() != crypto_scalarmult_BYTES)
                return f(AgeFailure::header, "age header: an X25519 share is not 32 bytes of canonical Base64");
            if (s.body.size() != file_key_size + tag_size)
                return f(AgeFailure::header, "age header: an X25519 stanza wraps a file key of the wrong size");
            Key32 shared;
            // libsodium refuses a low-order share (an all-zero shared secret), as age requires.
            if (crypto_scalarmult(shared.data(), id.secret().data(), u8(*share)) != 0)
                return f(AgeFailure::header, "age header: an X25519 share is a low-order point");
            Key32 wrap = wrap_key(shared, *share, id.recipient().key);
            sodium_memzero(shared.data(), shared.size());
            static const unsigned char zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {};
            FileKey key;
            unsigned long long len = 0;
            int rc = crypto_aead_chacha20poly1305_ietf_decrypt(key.data(), &len, nullptr, u8(s.body), s.body.size(),
                                                               nullptr, 0, zero_nonce, wrap.data());
            sodium_memzero(wrap.data(), wrap.size());
            if (rc == 0) return key;
        }
    }
    if (x25519 == 0) {
        std::string types;
        for (const auto &s : h.stanzas)
            if (types.size() < 80) types += (types.empty() ? "" : ", ") + std::string(s.type.substr(0, 32));
        return f(AgeFailure::no_match, "no X25519 stanza to open (stanza types: " + types +
                                           "); fjord decrypts only files encrypted to the host's age recipient");
    }
    std::string who = ids.size() == 1 ? " (" + ids[0].recipient().encode() + ")" : "";
    return f(AgeFailure::no_match, "not encrypted to this host's age recipient" + who + "; encrypt it with `fjordctl encrypt -r` "
                                   "or `age -r` and the recipient `fjordctl identity` prints");
}

/// The 12-byte STREAM nonce: an 11-byte big-endian chunk counter and the last-chunk flag.
std::array<unsigned char, 12> stream_nonce(std::uint64_t counter, bool last) {
    std::array<unsigned char, 12> n{};
    for (int i = 10; i >= 0 && counter; --i, counter >>= 8) n[static_cast<std::size_t>(i)] = counter & 0xff;
    n[11] = last ? 1 : 0;
    return n;
}

/// A string whose buffer is on the heap at exactly the capacity it keeps: moving it moves the
/// pointer (no copy left in a small-string buffer) and filling it never reallocates.
std::string secret_buffer(std::size_t size) {
    std::string s;
    s.reserve(std::max<std::size_t>(size, 2 * sizeof(std::string)));
    s.resize(size);
    return s;
}

Result<std::string> decrypt_binary(std::string_view file, std::span<const AgeIdentity> ids, const Fail &f) {
    auto h = parse_header(file, f);
    if (!h) return fail(h.error());
    auto key = unwrap(*h, ids, f);
    if (!key) return fail(key.error());
    Key32 mac_key = hkdf_key(bytes(*key), "", "header");
    Key32 mac = hmac_sha256(bytes(mac_key), h->mac_input);
    sodium_memzero(mac_key.data(), mac_key.size());
    if (crypto_verify_32(mac.data(), u8(h->mac)) != 0) {
        sodium_memzero(key->data(), key->size());
        return f(AgeFailure::hmac, "the age header MAC does not match: the header was altered");
    }

    std::string_view payload = file.substr(h->end);
    if (payload.size() < payload_nonce_size) {
        sodium_memzero(key->data(), key->size());
        return f(AgeFailure::header, "age file truncated after its header (no payload nonce)");
    }
    Key32 stream_key = hkdf_key(bytes(*key), payload.substr(0, payload_nonce_size), "payload");
    sodium_memzero(key->data(), key->size());
    std::string_view body = payload.substr(payload_nonce_size);
    auto fail_payload = [&](const std::string &msg) {
        sodium_memzero(stream_key.data(), stream_key.size());
        return f(AgeFailure::payload, "age payload: " + msg);
    };
    if (body.empty()) return fail_payload("no chunks (truncated)");
    std::size_t chunks = (body.size() + enc_chunk_size - 1) / enc_chunk_size;
    std::size_t last_size = body.size() - (chunks - 1) * enc_chunk_size;
    if (last_size < tag_size) return fail_payload("the last chunk is shorter than its tag (truncated)");
    if (chunks > 1 && last_size == tag_size)
        return fail_payload("an empty last chunk after a full one (only an empty file has an empty chunk)");

    std::string out = secret_buffer(body.size() - chunks * tag_size);
    for (std::size_t i = 0; i < chunks; ++i) {
        bool last = i + 1 == chunks;
        std::string_view in = body.substr(i * enc_chunk_size, last ? last_size : enc_chunk_size);
        auto nonce = stream_nonce(i, last);
        unsigned long long len = 0;
        if (crypto_aead_chacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char *>(out.data()) + i * chunk_size, &len,
                                                      nullptr, u8(in), in.size(), nullptr, 0, nonce.data(),
                                                      stream_key.data()) != 0) {
            wipe(out);
            return fail_payload("chunk " + std::to_string(i + 1) + " of " + std::to_string(chunks) +
                                (last ? " (the last)" : "") + " fails authentication: tampered, truncated or extended");
        }
    }
    sodium_memzero(stream_key.data(), stream_key.size());
    return out;
}

/// "-> X25519 SHARE\nBODY\n" for one recipient.
Result<std::string> x25519_stanza(const FileKey &file_key, const AgeRecipient &r) {
    Key32 eph, share, shared;
    randombytes_buf(eph.data(), eph.size());
    crypto_scalarmult_base(share.data(), eph.data());
    int rc = crypto_scalarmult(shared.data(), eph.data(), r.key.data());
    sodium_memzero(eph.data(), eph.size());
    if (rc != 0) return fail(Errc::invalid, r.encode() + ": a low-order point, not a usable recipient");
    Key32 wrap = wrap_key(shared, bytes(share), r.key);
    sodium_memzero(shared.data(), shared.size());
    static const unsigned char zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {};
    std::array<unsigned char, file_key_size + tag_size> body;
    unsigned long long len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(body.data(), &len, file_key.data(), file_key.size(), nullptr, 0, nullptr,
                                              zero_nonce, wrap.data());
    sodium_memzero(wrap.data(), wrap.size());
    // 32 bytes are 43 columns: one short line, which also ends the body.
    return "-> X25519 " + base64_encode(bytes(share), false) + "\n" + base64_encode(sv(body.data(), body.size()), false) + "\n";
}

} // namespace

const char *age_failure_name(AgeFailure f) {
    switch (f) {
    case AgeFailure::none: return "success";
    case AgeFailure::armor: return "armor failure";
    case AgeFailure::header: return "header failure";
    case AgeFailure::hmac: return "HMAC failure";
    case AgeFailure::payload: return "payload failure";
    case AgeFailure::no_match: return "no match";
    }
    return "?";
}

void wipe(std::string &s) {
    sodium_memzero(s.data(), s.size());
    s.clear();
}

Result<std::string> age_decrypt(std::string_view file, std::span<const AgeIdentity> ids, AgeFailure *why) {
    if (why) *why = AgeFailure::none;
    Fail f{why};
    FJORD_TRY(sodium_ready());
    if (file.empty()) return f(AgeFailure::header, "empty file, not an age file");
    // Binary age starts with its intro line; anything else can only be the armored form.
    if (file.substr(0, 19) == "age-encryption.org/") return decrypt_binary(file, ids, f);
    auto binary = age_unarmor(file);
    if (!binary) return f(AgeFailure::armor, binary.error().message);
    return decrypt_binary(*binary, ids, f);
}

Result<std::string> age_encrypt(std::string_view plaintext, std::span<const AgeRecipient> recipients, bool armor) {
    FJORD_TRY(sodium_ready());
    if (recipients.empty()) return fail(Errc::invalid, "no recipients to encrypt to");
    FileKey file_key;
    randombytes_buf(file_key.data(), file_key.size());
    std::string header(intro);
    header += '\n';
    for (const auto &r : recipients) {
        auto s = x25519_stanza(file_key, r);
        if (!s) {
            sodium_memzero(file_key.data(), file_key.size());
            return fail(s.error());
        }
        header += *s;
    }
    header += "---";
    Key32 mac_key = hkdf_key(bytes(file_key), "", "header");
    Key32 mac = hmac_sha256(bytes(mac_key), header);
    sodium_memzero(mac_key.data(), mac_key.size());
    header += " " + base64_encode(bytes(mac), false) + "\n";

    std::array<unsigned char, payload_nonce_size> nonce;
    randombytes_buf(nonce.data(), nonce.size());
    Key32 stream_key = hkdf_key(bytes(file_key), sv(nonce.data(), nonce.size()), "payload");
    sodium_memzero(file_key.data(), file_key.size());

    // An empty plaintext is one empty chunk; otherwise every chunk is full but the last.
    std::size_t chunks = plaintext.empty() ? 1 : (plaintext.size() + chunk_size - 1) / chunk_size;
    std::string out;
    out.reserve(header.size() + nonce.size() + plaintext.size() + chunks * tag_size);
    out += header;
    out += sv(nonce.data(), nonce.size());
    std::size_t at = out.size();
    out.resize(at + plaintext.size() + chunks * tag_size);
    for (std::size_t i = 0; i < chunks; ++i) {
        std::string_view in = plaintext.substr(std::min(i * chunk_size, plaintext.size()), chunk_size);
        auto n = stream_nonce(i, i + 1 == chunks);
        unsigned long long len = 0;
        crypto_aead_chacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char *>(out.data()) + at, &len, u8(in),
                                                  in.size(), nullptr, 0, nullptr, n.data(), stream_key.data());
        at += static_cast<std::size_t>(len);
    }
    sodium_memzero(stream_key.data(), stream_key.size());
    return armor ? age_armor(out) : out;
}

} // namespace fjord
