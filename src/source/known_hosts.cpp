#include "source/known_hosts.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace fjord {
namespace {

// SHA-1 for hashed known_hosts entries only (HMAC-SHA1 of the host name, OpenSSH's
// HashKnownHosts). libsodium has no SHA-1 and libgit2 does not export its own; these forty
// lines beat a libcrypto dependency. Tests check them against entries made by `ssh-keygen -H`.
class Sha1 {
  public:
    void update(std::string_view d) {
        for (unsigned char c : d) {
            buf_[len_++] = c;
            if (len_ == 64) block();
        }
        total_ += d.size();
    }
    std::string finish() {
        std::uint64_t bits = total_ * 8;
        buf_[len_++] = 0x80;
        if (len_ > 56) {
            while (len_ < 64) buf_[len_++] = 0;
            block();
        }
        while (len_ < 56) buf_[len_++] = 0;
        for (int i = 7; i >= 0; --i) buf_[len_++] = static_cast<std::uint8_t>(bits >> (i * 8));
        block();
        std::string out;
        for (std::uint32_t v : h_)
            for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (i * 8)));
        return out;
    }

  private:
    static std::uint32_t rol(std::uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }
    void block() {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i)
            w[i] = std::uint32_t(buf_[i * 4]) << 24 | std::uint32_t(buf_[i * 4 + 1]) << 16 |
                   std::uint32_t(buf_[i * 4 + 2]) << 8 | std::uint32_t(buf_[i * 4 + 3]);
        for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else f = b ^ c ^ d, k = 0xCA62C1D6;
            std::uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rol(b, 30), b = a, a = t;
        }
        h_[0] += a, h_[1] += b, h_[2] += c, h_[3] += d, h_[4] += e;
        len_ = 0;
    }
    std::array<std::uint32_t, 5> h_{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    std::array<std::uint8_t, 64> buf_{};
    std::size_t len_ = 0;
    std::uint64_t total_ = 0;
};

std::string sha1(std::string_view a, std::string_view b = {}) {
    Sha1 s;
    s.update(a);
    s.update(b);
    return s.finish();
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool hashed_matches(std::string_view field, std::string_view name) {
    // "|1|base64(salt)|base64(HMAC-SHA1(salt, name))"
    std::string_view rest = field.substr(3);
    auto bar = rest.find('|');
    if (bar == std::string_view::npos) return false;
    std::string salt, mac;
    if (!base64_decode(rest.substr(0, bar), salt) || !base64_decode(rest.substr(bar + 1), mac)) return false;
    return mac.size() == 20 && hmac_sha1(salt, name) == mac;
}

bool host_field_matches(std::string_view field, const std::string &name) {
    if (field.starts_with("|1|")) return hashed_matches(field, name);
    bool matched = false;
    while (!field.empty()) {
        auto comma = field.find(',');
        std::string pat = lower(field.substr(0, comma));
        field = comma == std::string_view::npos ? std::string_view{} : field.substr(comma + 1);
        bool negated = !pat.empty() && pat[0] == '!';
        if (negated) pat.erase(0, 1);
        // OpenSSH host patterns know only '*' and '?'; fnmatch would read "[host]:port" as a
        // bracket expression.
        if (!wildcard_match(pat, name)) continue;
        if (negated) return false; // a negated match rules the line out, as in OpenSSH
        matched = true;
    }
    return matched;
}

std::vector<std::string_view> split_ws(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

// An ssh wire-format string: uint32 length (big endian), then the bytes.
bool read_ssh_string(std::string_view &in, std::string_view &out) {
    if (in.size() < 4) return false;
    std::uint32_t n = std::uint32_t(std::uint8_t(in[0])) << 24 | std::uint32_t(std::uint8_t(in[1])) << 16 |
                      std::uint32_t(std::uint8_t(in[2])) << 8 | std::uint32_t(std::uint8_t(in[3]));
    if (in.size() - 4 < n) return false;
    out = in.substr(4, n);
    in.remove_prefix(4 + n);
    return true;
}

std::string blob_key_type(std::string_view blob) {
    std::string_view type;
    return read_ssh_string(blob, type) ? std::string(type) : std::string("unknown");
}

std::string join(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

} // namespace

bool base64_decode(std::string_view in, std::string &out) {
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else if (c == '=') break;
        else if (c == '\n' || c == '\r') continue;
        else return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return true;
}

std::string hmac_sha1(std::string_view key, std::string_view msg) {
    std::string k = key.size() > 64 ? sha1(key) : std::string(key);
    k.resize(64, '\0');
    std::string ipad(64, '\0'), opad(64, '\0');
    for (std::size_t i = 0; i < 64; ++i) {
        ipad[i] = static_cast<char>(k[i] ^ 0x36);
        opad[i] = static_cast<char>(k[i] ^ 0x5c);
    }
    return sha1(opad, sha1(ipad, msg));
}

std::string known_hosts_name(std::string_view host, int port) {
    std::string h = lower(host);
    if (port == 22 || port <= 0) return h;
    return "[" + h + "]:" + std::to_string(port);
}

HostKeyVerdict match_host_key(std::string_view text, std::string_view host, int port, std::string_view key_blob) {
    const std::string name = known_hosts_name(host, port);
    HostKeyVerdict v;
    bool ok = false, revoked = false;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto f = split_ws(line);
        if (f.empty() || f[0][0] == '#') continue;
        std::string_view marker;
        if (f[0][0] == '@') {
            marker = f[0];
            f.erase(f.begin());
        }
        if (f.size() < 3) continue; // not a key line; OpenSSH skips these too
        std::string key;
        if (!base64_decode(f[2], key)) continue;
        if (marker == "@revoked") {
            // Stricter than OpenSSH, which scopes @revoked by host pattern: a key someone
            // revoked is refused whichever host presents it.
            if (key == key_blob) revoked = true;
            continue;
        }
        if (!marker.empty()) continue; // @cert-authority: fjord does not do host certificates
        if (!host_field_matches(f[0], name)) continue;
        v.known_types.emplace_back(f[1]);
        if (key == key_blob) ok = true;
    }
    v.match = revoked ? HostKeyMatch::revoked
              : ok    ? HostKeyMatch::ok
              : v.known_types.empty() ? HostKeyMatch::no_entry
                                      : HostKeyMatch::mismatch;
    return v;
}

Status verify_host_key(const std::string &file, std::string_view host, int port, std::string_view key_blob) {
    const std::string name = known_hosts_name(host, port);
    auto text = read_file(file, 16u << 20);
    if (!text)
        return fail(Errc::auth, "cannot verify the host key of " + name + ": known_hosts " + text.error().message);
    auto v = match_host_key(*text, host, port, key_blob);
    std::string scan = "ssh-keyscan " + (port == 22 ? std::string() : "-p " + std::to_string(port) + " ") +
                       std::string(host) + " >> " + file;
    switch (v.match) {
    case HostKeyMatch::ok:
        return {};
    case HostKeyMatch::revoked:
        return fail(Errc::auth, "host key for " + name + " is marked @revoked in " + file);
    case HostKeyMatch::mismatch: {
        // Types that differ mean the file lacks the type the server chose, which need not be
        // a changed key: say so. Same types mean the key itself changed.
        std::string offered = blob_key_type(key_blob), types;
        if (std::find(v.known_types.begin(), v.known_types.end(), offered) == v.known_types.end())
            types = " (the server offers " + offered + ", the file lists " + join(v.known_types) + ")";
        return fail(Errc::auth, "host key for " + name + " does not match " + file + types +
                                    "; if the server's key changed on purpose, replace its entry");
    }
    case HostKeyMatch::no_entry:
        break;
    }
    return fail(Errc::auth, "no entry for " + name + " in " + file + "; add it with " + scan);
}

Result<std::string> ssh_key_type(const std::string &path) {
    auto priv = read_file(path, 1u << 20);
    if (!priv) return fail(priv.error());
    if (priv->find("-----BEGIN RSA PRIVATE KEY-----") != std::string::npos) return std::string("ssh-rsa");
    if (priv->find("-----BEGIN EC PRIVATE KEY-----") != std::string::npos) return std::string("ecdsa");
    const std::string begin = "-----BEGIN OPENSSH PRIVATE KEY-----", end = "-----END OPENSSH PRIVATE KEY-----";
    auto b = priv->find(begin), e = priv->find(end);
    if (b != std::string::npos && e != std::string::npos && e > b) {
        // openssh-key-v1: magic, cipher, kdf, kdf options, key count, then the public keys
        // in clear even when the private part is encrypted.
        std::string raw;
        std::string_view body = std::string_view(*priv).substr(b + begin.size(), e - b - begin.size());
        std::string_view magic = "openssh-key-v1";
        if (base64_decode(body, raw) && raw.size() > magic.size() + 1 && raw.compare(0, magic.size(), magic) == 0) {
            std::string_view in = std::string_view(raw).substr(magic.size() + 1), s, pub;
            if (read_ssh_string(in, s) && read_ssh_string(in, s) && read_ssh_string(in, s) && in.size() >= 4) {
                in.remove_prefix(4);
                if (read_ssh_string(in, pub)) return blob_key_type(pub);
            }
        }
    }
    if (auto pub = read_file(path + ".pub", 1u << 20)) {
        auto f = split_ws(*pub);
        if (!f.empty()) return std::string(f[0]);
    }
    return std::string();
}

Status check_ssh_key(const std::string &path) {
    auto type = ssh_key_type(path);
    if (!type) return fail(Errc::auth, "ssh key " + type.error().message);
    if (*type == "ssh-rsa")
        return fail(Errc::auth, "ssh key " + path +
                                    " is RSA: libssh2 1.10 signs only with SHA-1, which current sshd refuses; "
                                    "use an ed25519 or ecdsa key");
    return {};
}

} // namespace fjord
