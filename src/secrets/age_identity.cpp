#include "secrets/age_identity.hpp"

#include "secrets/codec.hpp"
#include "util/fs.hpp"
#include "util/lines.hpp"
#include "util/unique_fd.hpp"
#include <ctime>
#include <optional>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {
namespace {

constexpr std::string_view identity_hrp = "age-secret-key-";
constexpr std::string_view recipient_hrp = "age";

/// Wipes a string that held key material, then empties it.
void wipe_string(std::string &s) {
    sodium_memzero(s.data(), s.size());
    s.clear();
}

std::string utc_now() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace

Status sodium_ready() {
    if (::sodium_init() < 0) return fail(Errc::internal, "libsodium failed to initialise");
    return {};
}

Result<AgeRecipient> AgeRecipient::parse(std::string_view text) {
    auto b = bech32_decode(text);
    if (!b || b->hrp != recipient_hrp || b->data.size() != 32)
        return fail(Errc::invalid, "\"" + std::string(text.substr(0, 80)) + "\" is not an age X25519 recipient (age1…)");
    AgeRecipient r;
    std::copy(b->data.begin(), b->data.end(), r.key.begin());
    return r;
}

std::string AgeRecipient::encode() const { return bech32_encode(recipient_hrp, bytes(key)); }

AgeIdentity::AgeIdentity(const Key32 &secret) : secret_(secret) {
    crypto_scalarmult_base(recipient_.key.data(), secret_.data());
}

AgeIdentity::~AgeIdentity() { sodium_memzero(secret_.data(), secret_.size()); }

Result<AgeIdentity> AgeIdentity::generate() {
    FJORD_TRY(sodium_ready());
    Key32 k;
    randombytes_buf(k.data(), k.size());
    AgeIdentity id(k);
    sodium_memzero(k.data(), k.size());
    return id;
}

Result<AgeIdentity> AgeIdentity::parse(std::string_view text) {
    FJORD_TRY(sodium_ready());
    auto b = bech32_decode(text);
    if (!b || b->hrp != identity_hrp || b->data.size() != 32) {
        if (b) wipe_string(b->data);
        return fail(Errc::invalid, "not a valid age X25519 identity (AGE-SECRET-KEY-1…)");
    }
    Key32 k;
    std::copy(b->data.begin(), b->data.end(), k.begin());
    wipe_string(b->data);
    AgeIdentity id(k);
    sodium_memzero(k.data(), k.size());
    return id;
}

std::string AgeIdentity::encode() const {
    std::string s = bech32_encode(identity_hrp, bytes(secret_));
    for (auto &c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::string AgeIdentity::digest(std::string_view plaintext) const {
    // A key of its own (not the X25519 scalar itself), so the digest says nothing about it.
    Key32 key = hkdf_key(bytes(secret_), "", "fjord.dev/v1/secret-file-digest");
    Key32 mac = hmac_sha256(bytes(key), plaintext);
    sodium_memzero(key.data(), key.size());
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, mac.data(), mac.size());
    return hex;
}

Result<AgeIdentity> load_identity_file(const std::string &path) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return fail(Errc::not_found, path + ": no age identity (fjordd makes one at its first start)");
        return fail_errno(path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_errno(path);
    if (!S_ISREG(st.st_mode)) return fail(Errc::invalid, path + ": the age identity is not a regular file");
    if (st.st_mode & 077) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return fail(Errc::refused, path + ": mode " + mode + " lets other users read the secrets identity; chmod 0600 it");
    }
    if (st.st_size > 65536) return fail(Errc::invalid, path + ": too large for an age identity file");
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            wipe_string(text);
            return n < 0 ? fail_errno("read " + path) : fail(Errc::io, path + ": changed while being read");
        }
        got += static_cast<std::size_t>(n);
    }
    std::optional<AgeIdentity> found;
    Status bad;
    Lines lines{text, true};
    for (std::string_view line; bad && lines.next(line);) {
        if (line.empty() || line.front() == '#') continue;
        std::string where = path + ":" + std::to_string(lines.number);
        // Never quote the line: it may be key material.
        if (line.substr(0, 16) != "AGE-SECRET-KEY-1") bad = fail(Errc::invalid, where + ": not an AGE-SECRET-KEY-1 identity");
        else if (found) bad = fail(Errc::invalid, where + ": more than one identity; fjord uses exactly one");
        else if (auto id = AgeIdentity::parse(line); !id) bad = fail(id.error().context(where));
        else found.emplace(std::move(*id));
    }
    wipe_string(text);
    if (!bad) return fail(bad.error());
    if (!found) return fail(Errc::invalid, path + ": holds no AGE-SECRET-KEY-1 identity");
    return std::move(*found);
}

Result<AgeIdentity> ensure_identity_file(const std::string &path, bool *created) {
    if (created) *created = false;
    auto existing = load_identity_file(path);
    if (existing || existing.error().code != Errc::not_found) return existing;

    std::string dir = dirname_of(path);
    FJORD_TRY(mkdir_p(dir, 0700));
    auto id = AgeIdentity::generate();
    if (!id) return id;
    std::string text = "# created: " + utc_now() + "\n# public key: " + id->recipient().encode() + "\n";
    text.reserve(text.size() + 128); // no reallocation once the secret is in: one buffer to wipe
    text += id->encode();
    text += "\n";

    // Written whole under a temporary name, then linked into place: link() never replaces an
    // existing file, so two first starts racing (or a crash) cannot lose an identity in use.
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
        wipe_string(text);
        return fail_errno("create " + tmp);
    }
    Status w = write_all(fd.get(), text, tmp);
    wipe_string(text);
    if (w && (::fchmod(fd.get(), 0600) < 0 || ::fsync(fd.get()) < 0)) w = fail_errno("fsync " + tmp);
    fd.reset();
    if (w && ::link(tmp.c_str(), path.c_str()) < 0 && errno != EEXIST) w = fail_errno("link " + path);
    ::unlink(tmp.c_str());
    if (!w) return fail(w.error());
    FJORD_TRY(fsync_dir(dir));
    // Whoever linked first won; read back what is there now.
    auto loaded = load_identity_file(path);
    if (loaded && created) *created = loaded->recipient().key == id->recipient().key;
    return loaded;
}

} // namespace fjord
