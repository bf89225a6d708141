// libFuzzer target: the Mustache-subset renderer of .tmpl files, with a few variables defined.
#include "manifest/template.hpp"
#include <cstddef>
#include <cstdint>
#include <map>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const std::map<std::string, std::string, std::less<>> vars{
        {"domain", "shop.example.no"}, {"workers", "4"}, {"host.name", "web1"}, {"empty", ""},
        {"big", std::string(4096, 'x')}};
    fjord::TemplateLookup lookup = [](std::string_view name) -> const std::string * {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : &it->second;
    };
    std::string_view text(reinterpret_cast<const char *>(data), size);
    // A small output cap, so the size limit itself is exercised.
    auto out = fjord::render_template(text, lookup, "files/etc/app.conf.tmpl", 1u << 16);
    (void)out;
    return 0;
}
