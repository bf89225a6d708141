// libFuzzer target: the age decoder (binary and ASCII-armored files from the repo) with a fixed
// X25519 identity, the one the seed corpus under tests/fuzz/age/ is encrypted to.
#include "secrets/age.hpp"
#include "secrets/age_identity.hpp"
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const fjord::AgeIdentity id = [] {
        if (!fjord::sodium_ready()) std::abort();
        auto i = fjord::AgeIdentity::parse("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0");
        if (!i) std::abort();
        return std::move(*i);
    }();
    std::string_view file(reinterpret_cast<const char *>(data), size);
    auto plain = fjord::age_decrypt(file, std::span<const fjord::AgeIdentity>(&id, 1));
    (void)plain;
    return 0;
}
