#include "fleet/marker.hpp"

#include "util/hash.hpp"
#include "util/strings.hpp"
#include <openssl/evp.h>

namespace fjord::fleet {

std::string_view mark_state_name(MarkState s) {
    switch (s) {
    case MarkState::waiting: return "waiting";
    case MarkState::good: return "good";
    case MarkState::failed: return "failed";
    }
    return "waiting";
}

std::string marker_body(std::string_view commit, MarkState s) {
    return "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
           "author fjord <fjord@invalid> 0 +0000\n"
           "committer fjord <fjord@invalid> 0 +0000\n"
           "\n"
           "fjord marker\n\ncommit " +
           std::string(commit) + "\nstate " + std::string(mark_state_name(s)) + "\n";
}

std::string marker_id(std::string_view commit, MarkState s) { return git_object_id("commit", marker_body(commit, s)); }

Status check_ref_name(std::string_view name, std::string_view what) {
    std::string why = ref_component_problem(name);
    if (why.empty()) return {};
    return fail(Errc::invalid, std::string(what) + " \"" + std::string(name.substr(0, 80)) + "\": " + why);
}

std::string host_ref(std::string_view host) { return "refs/fjord/hosts/" + std::string(host); }
std::string wave_prefix(std::string_view wave) { return "refs/fjord/waves/" + std::string(wave) + "/"; }
std::string marker_ref(std::string_view wave, std::string_view host) { return wave_prefix(wave) + std::string(host); }

std::optional<MarkerRef> parse_marker_ref(std::string_view ref) {
    constexpr std::string_view pre = "refs/fjord/waves/";
    if (ref.substr(0, pre.size()) != pre) return std::nullopt;
    ref.remove_prefix(pre.size());
    auto slash = ref.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    MarkerRef m{std::string(ref.substr(0, slash)), std::string(ref.substr(slash + 1))};
    if (!check_ref_name(m.wave, "wave") || !check_ref_name(m.host, "host")) return std::nullopt;
    return m;
}

unsigned bucket(std::string_view host) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(host.data(), host.size(), md, &len, EVP_sha256(), nullptr) != 1 || len < 8) std::abort();
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | md[i];
    return static_cast<unsigned>(v % 100);
}

} // namespace fjord::fleet
