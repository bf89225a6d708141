#include "secrets/kdf.hpp"

#include <algorithm>
#include <sodium.h>

namespace fjord {
namespace {

const unsigned char *u8(std::string_view s) { return reinterpret_cast<const unsigned char *>(s.data()); }

} // namespace

Key32 hmac_sha256(std::string_view key, std::string_view msg) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, u8(key), key.size());
    crypto_auth_hmacsha256_update(&st, u8(msg), msg.size());
    Key32 out;
    crypto_auth_hmacsha256_final(&st, out.data());
    sodium_memzero(&st, sizeof st); // the state holds the key's pads
    return out;
}

void hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, unsigned char *out,
                 std::size_t len) {
    // An empty salt is the same HMAC key as HashLen zero bytes (keys are zero-padded).
    Key32 prk = hmac_sha256(salt, ikm);
    Key32 t{};
    std::size_t done = 0;
    for (unsigned char i = 1; done < len && i != 0; ++i) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, prk.data(), prk.size());
        if (i > 1) crypto_auth_hmacsha256_update(&st, t.data(), t.size());
        crypto_auth_hmacsha256_update(&st, u8(info), info.size());
        crypto_auth_hmacsha256_update(&st, &i, 1);
        crypto_auth_hmacsha256_final(&st, t.data());
        sodium_memzero(&st, sizeof st);
        std::size_t n = std::min(t.size(), len - done);
        std::copy_n(t.data(), n, out + done);
        done += n;
    }
    sodium_memzero(prk.data(), prk.size());
    sodium_memzero(t.data(), t.size());
}

Key32 hkdf_key(std::string_view ikm, std::string_view salt, std::string_view info) {
    Key32 k;
    hkdf_sha256(ikm, salt, info, k.data(), k.size());
    return k;
}

} // namespace fjord
