// libFuzzer target: the SSHSIG parser and verifier (a commit's gpgsig header comes from the
// repo) and the allowed-signers parser. The input is split at the first NUL: signers, signature.
#include "source/signature.hpp"
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    auto nul = in.find('\0');
    std::string_view signers = in.substr(0, nul), sig = nul == std::string_view::npos ? in : in.substr(nul + 1);
    auto a = fjord::parse_allowed_signers(signers, "allowed_signers");
    fjord::AllowedSigners none;
    auto who = fjord::verify_sshsig(sig, "tree 0123\n\nmessage\n", "git", a ? *a : none, 1'700'000'000);
    (void)who;
    return 0;
}
