// The bounds on what a commit can make the render child do (issue 16): commits that crashed or
// exhausted it on every poll are refused fast, with bounded memory, by an error that names the
// file and the limit (Errc::invalid: the commit's own fault), and large legitimate repos still
// render.
#include "manifest/manifest_toml.hpp"
#include "manifest/render.hpp"
#include "manifest/template.hpp"

#include <chrono>
#include <cstdio>
#include <doctest/doctest.h>
#include <map>
#include <sys/resource.h>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

/// A repo tree with its blobs found by id, so that 100,000 files cost no quadratic search.
class IndexedTree : public TreeView {
  public:
    IndexedTree &file(const std::string &path, std::string content) {
        std::string id = "blob" + std::to_string(blobs_.size());
        blobs_[id] = std::move(content);
        auto slash = path.rfind('/');
        std::string dir = path.substr(0, slash), name = path.substr(slash + 1);
        entries_[dir].push_back({name, EntryKind::file, false, id});
        // Every folder above is listed in its parent once.
        while ((slash = dir.rfind('/')) != std::string::npos || !dir.empty()) {
            std::string parent = slash == std::string::npos ? "" : dir.substr(0, slash);
            std::string base = slash == std::string::npos ? dir : dir.substr(slash + 1);
            auto &list = entries_[parent];
            bool known = false;
            for (const auto &e : list) known = known || (e.name == base && e.kind == EntryKind::dir);
            if (known) break;
            list.push_back({base, EntryKind::dir, false, "tree"});
            if (slash == std::string::npos) break;
            dir = parent;
        }
        return *this;
    }

    Result<std::vector<TreeEntry>> list(const std::string &dir) const override {
        auto it = entries_.find(dir);
        if (it == entries_.end()) return fail(Errc::not_found, "no folder " + dir);
        return it->second;
    }
    Result<std::string> read_blob(const std::string &id, std::uint64_t max) const override {
        const std::string &b = blobs_.at(id);
        if (b.size() > max) return fail(Errc::invalid, "blob too large");
        return b;
    }
    Result<std::uint64_t> blob_size(const std::string &id) const override { return blobs_.at(id).size(); }
    std::string commit() const override { return "c0ffee"; }

  private:
    std::map<std::string, std::vector<TreeEntry>> entries_;
    std::map<std::string, std::string> blobs_;
};

const std::string manifest = "hosts/web1/fjord.toml";

RenderOptions options() {
    RenderOptions o;
    o.host_path = "hosts/web1";
    return o;
}

/// The error of a render that must fail, checked to be the commit's fault and fast.
std::string refused(const TreeView &tree, std::chrono::milliseconds within = 2000ms) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = render(tree, options());
    auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    CHECK(took < within);
    return r.error().message;
}

std::string error_of(const std::string &text) {
    auto r = parse_manifest(text, manifest);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    return r.error().message;
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

/// "[vars]" and `n` keys named PREFIX000000.., one a line (in the order toml++ keeps them).
std::string vars(std::size_t n, const std::string &prefix = "v") {
    std::string out = "[vars]\n";
    char name[16];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(name, sizeof name, "%06zu", i);
        out += prefix + name + " = " + std::to_string(i) + "\n";
    }
    return out;
}

/// The peak resident size of this test process so far, in MiB.
long peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

} // namespace

TEST_CASE("a 200,000-deep dotted key in fjord.toml is refused before toml++ sees it (it overflowed its stack)") {
    auto msg = error_of("[vars]\n" + repeat("a.", 199'999) + "a = 1\n");
    CHECK(msg == manifest + ":2:127: nests deeper than 64 levels (table headers, dotted keys, arrays and inline "
                            "tables together), refused before parsing");
    // Arrays of arrays and inline tables, and containers/*.toml, the same.
    CHECK(error_of("[vars]\nx = " + repeat("[", 100'000)).find(":2:68: nests deeper than 64 levels") != std::string::npos);
    CHECK(error_of("[vars]\nx = " + repeat("{a = ", 100'000)).find("nests deeper than 64 levels") != std::string::npos);
    auto c = parse_container_file("image = \"x\"\n" + repeat("a.", 100) + "a = 1", "web", "hosts/web1/containers/web.toml");
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("hosts/web1/containers/web.toml:2:129: nests deeper than 64") == 0);
    // 64 levels are fine.
    CHECK(parse_manifest("[vars]\n" + repeat("a.", 62) + "a = 1\n", manifest));
}

TEST_CASE("a 45 MB manifest of 2.5 million [vars] keys is refused by its size, before parsing") {
    std::string text = "[vars]\n";
    text.reserve(48u << 20);
    for (int i = 0; i < 2'500'000; ++i) text += "v" + std::to_string(1'000'000 + i) + " = " + std::to_string(1'000'000 + i) + "\n";
    auto t0 = std::chrono::steady_clock::now();
    auto msg = error_of(text);
    CHECK(std::chrono::steady_clock::now() - t0 < 100ms);
    CHECK(msg == manifest + ": " + std::to_string(text.size()) +
                     " bytes, more than a manifest may have (33554432 bytes, 32 MiB), refused before parsing");
    // Under the size, the value count of the pre-scan stops it before toml++ allocates anything.
    text.resize(32u << 20);
    text.resize(text.rfind('\n') + 1);
    t0 = std::chrono::steady_clock::now();
    msg = error_of(text);
    CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);
    CHECK(msg == manifest + ":1000001:1: more than 1000000 values (keys, key segments and array elements), refused before parsing");
}

TEST_CASE("[vars] of one manifest: at most 100,000 values, each leaf, table and list element counted") {
    CHECK(parse_manifest(vars(100'000), manifest));
    auto msg = error_of(vars(100'001));
    CHECK(msg == manifest + ":100002:1: vars: v100000: more than 100000 values in [vars] (each leaf, table and list "
                            "element counts), the limit for templates");
    // A list is a value and so is each element; a table and each of its entries.
    CHECK(error_of(vars(99'996) + "x = [1, 2, 3, 4]\n").find("vars: x: more than 100000 values") != std::string::npos);
    CHECK(parse_manifest(vars(99'995) + "x = [1, 2, 3, 4]\n", manifest));
    CHECK(parse_manifest(vars(99'998) + "zz.a = 1\n", manifest));
    CHECK(error_of(vars(99'999) + "zz.a = 1\n").find("vars: zz: more than 100000 values") != std::string::npos);
}

TEST_CASE("the vars of a bundle and the host together, with the facts, are bounded") {
    IndexedTree tree;
    tree.file("bundles/many/fjord.toml", vars(60'000, "b"));
    tree.file(manifest, "include = [\"../../bundles/many\"]\n" + vars(50'000, "h"));
    tree.file("hosts/web1/files/etc/a", "a\n");
    // The host is read first, then what it includes.
    CHECK(refused(tree) == "bundles/many/fjord.toml: [vars]: 110000 values with those of the folders read before and the host facts, "
                                      "more than 100000 (the limit for templates)");

    IndexedTree ok;
    ok.file("bundles/many/fjord.toml", vars(50'000, "b"));
    ok.file(manifest, "include = [\"../../bundles/many\"]\n" + vars(49'000, "h"));
    CHECK(render(ok, options()));
    // The facts count too.
    RenderOptions o = options();
    o.facts["host"] = VarValue::table({{"ipv4", VarValue::strings(std::vector<std::string>(2'000, "10.0.0.1"))}});
    auto r = render(ok, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "bundles/many/fjord.toml: [vars]: 101002 values with those of the folders read before and "
                               "the host facts, more than 100000 (the limit for templates)");
}

TEST_CASE("templates expanding a 1 MiB var stop when all output passes 64 MiB, as it renders") {
    // 20 templates, each 60 times a 1 MiB var: 60 MiB each (under apply.max_file_size), 1.2 GB
    // together, which took the render child past its memory before.
    IndexedTree tree;
    tree.file(manifest, "[vars]\nbig = \"" + std::string(1 << 20, 'x') + "\"\n");
    for (int i = 0; i < 20; ++i) tree.file("hosts/web1/files/etc/bomb/t" + std::to_string(10 + i) + ".tmpl",
                                           "template " + std::to_string(i) + "\n" + repeat("{{big}}\n", 60));
    auto msg = refused(tree, 5000ms);
    CHECK(msg == "hosts/web1/files/etc/bomb/t11.tmpl: rendering it takes the output of this commit's templates past "
                 "67108864 bytes, the limit for all templates of one render");
    CHECK(peak_rss_mib() < 700);

    // The same on one line: stopped by what it looks up, before kainjow builds the line.
    IndexedTree line;
    line.file(manifest, "[vars]\nbig = \"" + std::string(1 << 20, 'x') + "\"\n");
    for (int i = 0; i < 20; ++i) line.file("hosts/web1/files/etc/bomb/t" + std::to_string(10 + i) + ".tmpl",
                                           std::to_string(i) + repeat("{{big}}", 60));
    CHECK(refused(line, 5000ms).find("t11.tmpl: rendering it takes the output") != std::string::npos);
    CHECK(peak_rss_mib() < 700);
}

TEST_CASE("the render budget counts every template's output, and only output") {
    VarTable v;
    v["x"] = VarValue::string(std::string(10, 'x'));
    v["l"] = VarValue::strings({"a", "b", "c"});
    TemplateValues values(v);
    RenderBudget total{47, 0};
    CHECK(*render_template("{{x}}{{x}}\n", values, "a.tmpl", 1000, nullptr, &total) == std::string(20, 'x') + "\n");
    CHECK(total.used == 21);
    CHECK(*render_template("{{x}}{{x}}", values, "b.tmpl", 1000, nullptr, &total) == std::string(20, 'x'));
    CHECK(total.used == 41); // 6 left
    // Past the total: refused, and nothing counted.
    auto r = render_template("{{x}}", values, "c.tmpl", 1000, nullptr, &total);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    CHECK(r.error().message == "c.tmpl: rendering it takes the output of this commit's templates past 47 bytes, "
                               "the limit for all templates of one render");
    CHECK(total.used == 41);
    // Indented standalone section lines vanish from the output, and from what is counted: this
    // is 6 bytes of output, though its section bodies hold 3 bytes of text each.
    CHECK(*render_template("  {{#l}}\n{{.}}\n  {{/l}}\n", values, "d.tmpl", 1000, nullptr, &total) == "a\nb\nc\n");
    CHECK(total.used == 47);
    CHECK_FALSE(render_template("1", values, "e.tmpl", 1000, nullptr, &total));
}

TEST_CASE("sections nest at most 64 deep (kainjow recurses over them)") {
    VarTable v;
    v["on"] = VarValue::boolean(true);
    TemplateValues values(v);
    std::string deep = repeat("{{#on}}", 100'000) + "x" + repeat("{{/on}}", 100'000);
    auto r = render_template(deep, values, "deep.tmpl", 1 << 20);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    CHECK(r.error().message == "deep.tmpl:1:449: sections nest deeper than 64 ({{#on}} opens one more)");
    CHECK(*render_template(repeat("{{#on}}", 64) + "x" + repeat("{{/on}}", 64), values, "ok.tmpl", 1 << 20) == "x");
}

TEST_CASE("fjordctl render --var: deep names and values are refused or taken as text, never parsed deep") {
    auto name = parse_var_assignment(repeat("a.", 100) + "a=1");
    REQUIRE_FALSE(name);
    CHECK(name.error().message.find("more than 64 dotted parts") != std::string::npos);
    auto value = parse_var_assignment("x=" + repeat("[", 100'000));
    REQUIRE(value);
    CHECK(value->second.kind == VarValue::Kind::string);
}

TEST_CASE("large legitimate repos still render: 10,000 vars in a template, a 100,000-file manifest") {
    IndexedTree tree;
    std::string text = vars(10'000) + "users = [";
    for (int i = 0; i < 10'000; ++i) text += (i ? ", " : "") + std::string("\"user") + std::to_string(i) + "\"";
    text += "]\n";
    tree.file(manifest, text);
    tree.file("hosts/web1/files/etc/users.tmpl", "{{v009999}}\n{{#users}}\n{{.}}\n{{/users}}\n");
    auto r = render(tree, options());
    REQUIRE_MESSAGE(r, r.error().message);
    const std::string &out = r->blobs.at(r->files.at("/etc/users").id);
    CHECK(out.rfind("9999\nuser0\nuser1\n", 0) == 0);

    // A [file] table for each of 100,000 files, each with mode, owner and group: 13 MB.
    std::string files;
    for (int i = 0; i < 100'000; ++i)
        files += "[file.\"/srv/www/example.net/static/assets/images/thumbnails/2024/" + std::to_string(100'000 + i) +
                 ".png\"]\nmode = \"0640\"\nowner = \"www-data\"\ngroup = \"www-data\"\n";
    auto m = parse_manifest(files, manifest);
    REQUIRE(m);
    CHECK(m->files.size() == 100'000);
}
