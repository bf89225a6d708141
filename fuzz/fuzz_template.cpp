// libFuzzer target: the Mustache renderer of .tmpl files (kainjow under fjord's rules), with a
// few variables of every kind defined.
#include "manifest/template.hpp"
#include "manifest/vars.hpp"
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const fjord::TemplateValues *values = [] {
        fjord::VarTable t;
        fjord::set_var(t, "domain", fjord::VarValue::string("shop.example.no"));
        fjord::set_var(t, "workers", fjord::VarValue::number("4"));
        fjord::set_var(t, "tls", fjord::VarValue::boolean(false));
        fjord::set_var(t, "host.name", fjord::VarValue::string("web1"));
        fjord::set_var(t, "empty", fjord::VarValue::string(""));
        fjord::set_var(t, "big", fjord::VarValue::string(std::string(4096, 'x')));
        fjord::set_var(t, "upstreams", fjord::VarValue::strings({"10.0.0.1", "10.0.0.2"}));
        return new fjord::TemplateValues(t);
    }();
    std::string_view text(reinterpret_cast<const char *>(data), size);
    // A small output cap, so the size limit itself is exercised.
    auto out = fjord::render_template(text, *values, "files/etc/app.conf.tmpl", 1u << 16);
    (void)out;
    return 0;
}
