// The Mustache renderer (kainjow) under fjord's rules: verbatim output, strict names with
// file:line, sections over lists, bounded output and work.
#include "manifest/manifest_toml.hpp"
#include "manifest/template.hpp"

#include <doctest/doctest.h>

using namespace fjord;

namespace {

VarTable sample() {
    VarTable v;
    v["domain"] = VarValue::string("shop.example.no");
    v["raw"] = VarValue::string("<a href=\"x\">&'</a>");
    v["workers"] = VarValue::number("4");
    v["tls"] = VarValue::boolean(true);
    v["debug"] = VarValue::boolean(false);
    v["upstreams"] = VarValue::strings({"10.0.0.1:80", "10.0.0.2:80"});
    v["none"] = VarValue::list({});
    v["db"] = VarValue::table({{"host", VarValue::string("db1")}, {"port", VarValue::number("5432")}});
    v["sites"] = VarValue::list({VarValue::table({{"name", VarValue::string("a")}, {"port", VarValue::number("81")}}),
                                 VarValue::table({{"name", VarValue::string("b")}, {"port", VarValue::number("82")}})});
    set_var(v, "host.name", VarValue::string("web1"));
    set_var(v, "fjord.generation", VarValue::number("12"));
    return v;
}

Result<std::string> run(std::string_view text, std::uint64_t max = 1 << 20, std::set<std::string> *used = nullptr,
                        const VarTable &vars = sample()) {
    TemplateValues values(vars);
    return render_template(text, values, "hosts/web1/files/etc/x.tmpl", max, used);
}

std::string ok(std::string_view text) {
    auto r = run(text);
    if (!r) FAIL(r.error().message);
    return r ? *r : "";
}

std::string err(std::string_view text, std::uint64_t max = 1 << 20) {
    auto r = run(text, max);
    REQUIRE_FALSE(r.has_value());
    return r.error().message;
}

} // namespace

TEST_CASE("values come out verbatim: config files are not HTML") {
    CHECK(ok("{{raw}}|{{{raw}}}|{{&raw}}|<>&\"'\n") == "<a href=\"x\">&'</a>|<a href=\"x\">&'</a>|<a href=\"x\">&'</a>|<>&\"'\n");
    CHECK(ok("w={{ workers }} tls={{tls}} debug={{debug}} db={{db.host}}:{{db.port}}") == "w=4 tls=true debug=false db=db1:5432");
}

TEST_CASE("sections: lists repeat, false and empty lists hide, inverted sections invert") {
    CHECK(ok("{{#upstreams}}server {{.}};{{/upstreams}}") == "server 10.0.0.1:80;server 10.0.0.2:80;");
    // Standalone section lines vanish, as Mustache specifies.
    CHECK(ok("upstream app {\n{{#upstreams}}\n    server {{.}};\n{{/upstreams}}\n}\n") ==
          "upstream app {\n    server 10.0.0.1:80;\n    server 10.0.0.2:80;\n}\n");
    CHECK(ok("a\n  {{#debug}}\nx\n  {{/debug}}\n{{^tls}}\nno tls\n{{/tls}}\nb\n") == "a\nb\n");
    CHECK(ok("{{#tls}}\n{{#upstreams}}\n  {{.}}\n{{/upstreams}}\n{{/tls}}\nend") == "  10.0.0.1:80\n  10.0.0.2:80\nend");
    CHECK(err("\n{{#tls}}\n\n{{nope}}\n{{/tls}}") == "hosts/web1/files/etc/x.tmpl:4:1: undefined variable \"nope\" (not in [vars] nor a host fact)");
    CHECK(ok("{{#sites}}{{name}}:{{port}} on {{domain}}\n{{/sites}}") == "a:81 on shop.example.no\nb:82 on shop.example.no\n");
    CHECK(ok("{{#tls}}ssl on;{{/tls}}{{#debug}}debug;{{/debug}}{{^debug}}quiet;{{/debug}}{{#none}}x{{/none}}{{^none}}empty{{/none}}") ==
          "ssl on;quiet;empty");
    CHECK(ok("{{#db}}{{host}}{{/db}} {{upstreams.1}} {{sites.0.name}}") == "db1 10.0.0.2:80 a");
    // Inside a section that does not render nothing is looked up: an opt-out needs no values.
    CHECK(ok("{{#debug}}{{not_defined_here}}{{/debug}}ok") == "ok");
}

TEST_CASE("comments vanish, standalone ones with their line") {
    CHECK(ok("{{! header }}\na{{! inline }}b\n  {{! alone }}  \nc\n") == "ab\nc\n");
}

TEST_CASE("an undefined name is an error naming the template, the line and the name") {
    CHECK(err("a\nb\nport={{ prot }}\n") == "hosts/web1/files/etc/x.tmpl:3:6: undefined variable \"prot\" (not in [vars] nor a host fact)");
    CHECK(err("{{#upstream}}x{{/upstream}}") == "hosts/web1/files/etc/x.tmpl:1:1: undefined variable \"upstream\" (not in [vars] nor a host fact)");
    CHECK(err("\n{{^missing}}x{{/missing}}") == "hosts/web1/files/etc/x.tmpl:2:1: undefined variable \"missing\" (not in [vars] nor a host fact)");
    CHECK(err("{{db.user}}") == "hosts/web1/files/etc/x.tmpl:1:1: undefined variable \"db.user\" (not in [vars] nor a host fact)");
    CHECK(err("{{upstreams.5}}") == "hosts/web1/files/etc/x.tmpl:1:1: undefined variable \"upstreams.5\" (not in [vars] nor a host fact)");
    CHECK(err("{{#sites}}\n{{name}} {{nmae}}\n{{/sites}}") == "hosts/web1/files/etc/x.tmpl:2:10: undefined variable \"nmae\" (not in [vars] nor a host fact)");
    CHECK(err("{{host.ipv4}}") == "hosts/web1/files/etc/x.tmpl:1:1: undefined variable \"host.ipv4\" (not in [vars] nor a host fact)");
}

TEST_CASE("a list or table where a value is wanted is an error, not an empty string") {
    CHECK(err("{{upstreams}}") == "hosts/web1/files/etc/x.tmpl:1:1: \"upstreams\" is a list; use a section: {{#upstreams}}...{{/upstreams}}");
    CHECK(err("x\n{{db}}") == "hosts/web1/files/etc/x.tmpl:2:1: \"db\" is a table; use a section: {{#db}}...{{/db}}");
}

TEST_CASE("malformed templates are refused with their line") {
    CHECK(err("{{> part}}") == "hosts/web1/files/etc/x.tmpl:1:1: {{> part}}: partials are not supported");
    CHECK(err("\n{{=<% %>=}}") == "hosts/web1/files/etc/x.tmpl:2:1: {{=<% %>=}}: changing delimiters is not supported");
    CHECK(err("\n\n{{#tls}}\nx\n") == "hosts/web1/files/etc/x.tmpl:3:1: {{#tls}} is not closed");
    CHECK(err("{{#tls}}\n{{/debug}}") == "hosts/web1/files/etc/x.tmpl:2:1: {{/debug}}: the open section is {{#tls}} from line 1");
    CHECK(err("{{/tls}}") == "hosts/web1/files/etc/x.tmpl:1:1: {{/tls}}: closes no open section");
    CHECK(err("a {{ }}") == "hosts/web1/files/etc/x.tmpl:1:3: {{ }}: empty name");
    CHECK(err("a\n{{x") == "hosts/web1/files/etc/x.tmpl:2:1: \"{{\" is not closed");
}

TEST_CASE("output and work are bounded") {
    CHECK(run("{{domain}}", 15).value() == "shop.example.no");
    CHECK(err("{{domain}}", 14) == "hosts/web1/files/etc/x.tmpl: rendered content is larger than apply.max_file_size (14 bytes)");
    // On one line (kainjow buffers a line until it ends), and growing without bound:
    VarTable big;
    std::vector<std::string> many(1000, "x");
    big["l"] = VarValue::strings(many);
    auto r = run("{{#l}}{{#l}}{{#l}}0123456789{{/l}}{{/l}}{{/l}}", 1 << 20, nullptr, big);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "hosts/web1/files/etc/x.tmpl: rendered content is larger than apply.max_file_size (1048576 bytes)");
    // Work without output is bounded too.
    auto w = run("{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}", 1 << 20, nullptr, big);
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().message.find("does too much work") != std::string::npos);
}

TEST_CASE("the facts looked up are reported, as written") {
    std::set<std::string> used;
    CHECK(run("{{host.name}} {{domain}} {{#fjord}}{{generation}}{{/fjord}} {{fjord.generation}}", 1 << 20, &used).value() ==
          "web1 shop.example.no 12 12");
    CHECK(used == std::set<std::string>{"host.name", "fjord", "fjord.generation"});
}

TEST_CASE("--var assignments: TOML when the value parses, else a string") {
    CHECK(parse_var_assignment("workers=8").value() == std::pair{std::string("workers"), VarValue::number("8")});
    CHECK(parse_var_assignment("tls=true").value().second == VarValue::boolean(true));
    CHECK(parse_var_assignment("u=[\"a\", \"b\"]").value().second == VarValue::strings({"a", "b"}));
    CHECK(parse_var_assignment("domain=shop.example.no").value().second == VarValue::string("shop.example.no"));
    CHECK(parse_var_assignment("db.port=6432").value().first == "db.port");
    CHECK(parse_var_assignment("x=").value().second == VarValue::string(""));
    CHECK_FALSE(parse_var_assignment("novalue").has_value());
    CHECK_FALSE(parse_var_assignment("a..b=1").has_value());
}

TEST_CASE("with a sink, every undefined name of a template is reported, each once (issue 19)") {
    TemplateValues values(sample());
    Diagnostics all;
    auto r = render_template("{{nope}}\n{{#sites}}{{name}} {{nmae}}{{/sites}}\n{{#tls}}{{db}}{{/tls}}{{^missing}}x{{/missing}}\n", values,
                             "hosts/web1/files/etc/x.tmpl", 1 << 20, nullptr, nullptr, &all);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "hosts/web1/files/etc/x.tmpl:1:1: undefined variable \"nope\" (not in [vars] nor a host fact)");
    std::vector<std::string> got;
    for (const auto &e : all.errors()) got.push_back(e.message);
    CHECK(got == std::vector<std::string>{
                     "hosts/web1/files/etc/x.tmpl:1:1: undefined variable \"nope\" (not in [vars] nor a host fact)",
                     "hosts/web1/files/etc/x.tmpl:2:20: undefined variable \"nmae\" (not in [vars] nor a host fact)",
                     "hosts/web1/files/etc/x.tmpl:3:9: \"db\" is a table; use a section: {{#db}}...{{/db}}",
                     "hosts/web1/files/etc/x.tmpl:3:23: undefined variable \"missing\" (not in [vars] nor a host fact)",
                 });
    Diagnostics syntax;
    CHECK_FALSE(render_template("{{#a}}", values, "x.tmpl", 1 << 20, nullptr, nullptr, &syntax));
    CHECK(syntax.count() == 1);
}
