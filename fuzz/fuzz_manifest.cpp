// libFuzzer target: the repo's manifest fjord.toml and containers/NAME.toml parsers, which read
// whatever the Git repository holds. The first byte picks the parser.
#include "manifest/manifest_toml.hpp"
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view text(reinterpret_cast<const char *>(data) + 1, size - 1);
    if (data[0] & 1) {
        auto c = fjord::parse_container_file(text, "web", "hosts/web1/containers/web.toml");
        (void)c;
    } else {
        auto m = fjord::parse_manifest(text, "hosts/web1/fjord.toml");
        (void)m;
    }
    return 0;
}
