// libFuzzer target: the agent config parser (/etc/fjord/fjord.toml) on arbitrary text.
#include "config/config.hpp"
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char *>(data), size);
    auto c = fjord::parse_config(text, "fuzz.toml", fjord::HostFacts{"web1", "0123456789abcdef0123456789abcdef"});
    (void)c;
    return 0;
}
