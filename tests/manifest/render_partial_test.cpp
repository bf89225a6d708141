// A render of only what changed (RenderOptions::base_commit, DesiredState::partial), filled
// in from the base's render, must equal a whole render of the new tree: for a seeded sequence
// of random changes, and for the cases that must fall back to a whole render. End to end, with
// real Git, generations and a root: tests/integration/incremental.sh.
#include "manifest/validate.hpp"
#include "render_support.hpp"

#include <cstdlib>
#include <random>

using namespace fjord;
using namespace fjord::test;

namespace {

/// The base's template paths, as fjordd hands them over from its current generation.
RenderOptions with_base(const DesiredState &base, RenderOptions o = web1()) {
    o.base_commit = "base";
    for (const auto &[path, f] : base.files)
        if (f.kind == FileKind::file && f.origin.ends_with(".tmpl")) o.base_templates.push_back(path);
    return o;
}

/// A partial render of `now` on `before` (whose whole render is `base`), made whole as fjordd does.
Result<DesiredState> incremental(const FakeTree &now, const FakeTree &before, const DesiredState &base,
                                 const RenderOptions &o, bool *was_partial = nullptr) {
    auto d = render(now, o, &before);
    if (!d) return d;
    if (was_partial) *was_partial = d->partial;
    if (d->partial) {
        fill_partial(*d, base.files, base.units, [](const FileSpec &f) -> const FileSpec & { return f; });
        if (auto s = complete_partial(*d, o); !s) return fail(std::move(s.error()));
    }
    return d;
}

/// Where two desired states differ, for the failure message.
std::string difference(const DesiredState &a, const DesiredState &b) {
    for (const auto &[path, f] : a.files) {
        auto it = b.files.find(path);
        if (it == b.files.end()) return "only the first has " + path + " (from " + f.origin + ")";
        if (!(it->second == f)) return path + " differs: " + f.origin + " " + f.id + " vs " + it->second.origin + " " + it->second.id;
    }
    for (const auto &[path, f] : b.files)
        if (!a.files.count(path)) return "only the second has " + path + " (from " + f.origin + ")";
    if (a.blobs != b.blobs) return "blobs";
    if (a.units != b.units) return "units";
    if (!(a.vars == b.vars)) return "vars";
    if (a.partial != b.partial || a.touched != b.touched) return "partial";
    return a == b ? "" : "other";
}

FakeTree sample() {
    FakeTree t;
    t.file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\n[vars]\nport = 8080\n"
                                    "[file.\"/etc/app/secret.conf\"]\nmode = \"0600\"\nowner = \"daemon\"\n");
    t.file("bundles/base/fjord.toml", "[vars]\nname = \"base\"\n");
    t.file("bundles/base/files/etc/motd", "hello\n");
    t.file("bundles/base/files/etc/app/secret.conf", "k=v\n");
    t.file("hosts/web1/files/etc/app/app.conf.tmpl", "port={{port}} host={{host.name}}\n");
    t.file("hosts/web1/units/app.service", "[Service]\nExecStart=/bin/true\n");
    return t;
}

} // namespace

TEST_CASE("a partial render walks only the folders that changed, and fills in to the whole render") {
    FakeTree before = sample();
    for (int d = 0; d < 40; ++d)
        for (int f = 0; f < 5; ++f)
            before.file("hosts/web1/files/srv/d" + std::to_string(d) + "/f" + std::to_string(f), "x" + std::to_string(d * 5 + f));
    DesiredState base = ok(before);
    FakeTree now = before;
    now.file("hosts/web1/files/srv/d7/f3", "changed");
    now.lists = 0;
    bool partial = false;
    auto inc = incremental(now, before, base, with_base(base), &partial);
    REQUIRE(inc);
    CHECK(partial);
    std::size_t partial_lists = now.lists;
    now.lists = 0;
    DesiredState whole = ok(now);
    CHECK(*inc == whole);
    // The whole render lists every folder; the partial one the chain's, and the path to d7.
    CHECK(partial_lists * 3 < now.lists);
    CHECK(inc->files.at("/srv/d7/f3").id == blob_id("changed"));
}

TEST_CASE("a changed fjord.toml, include chain or [file] pattern with validate makes the render whole") {
    FakeTree before = sample();
    DesiredState base = ok(before);
    bool partial = true;
    SUBCASE("vars changed") {
        FakeTree now = before;
        now.file("bundles/base/fjord.toml", "[vars]\nname = \"other\"\n");
        auto d = incremental(now, before, base, with_base(base), &partial);
        REQUIRE(d);
        CHECK_FALSE(partial);
        CHECK(*d == ok(now));
    }
    SUBCASE("a validate pattern") {
        before.file("hosts/web1/fjord.toml", "include = [\"../../bundles/base\"]\n[vars]\nport = 1\n"
                                             "[file.\"/etc/**\"]\nvalidate = [\"/bin/true\", \"%s\"]\n");
        base = ok(before);
        FakeTree now = before;
        now.file("hosts/web1/files/etc/new", "n");
        auto d = incremental(now, before, base, with_base(base), &partial);
        REQUIRE(d);
        CHECK_FALSE(partial);
        CHECK(*d == ok(now));
        CHECK(d->files.at("/etc/motd").validate == std::vector<std::string>{"/bin/true", "%s"});
    }
    SUBCASE("a [file] table names a path that a partial render sees removed") {
        FakeTree now = before;
        now.remove("bundles/base/files/etc/app/secret.conf");
        auto d = incremental(now, before, base, with_base(base), &partial);
        REQUIRE_FALSE(d);
        CHECK(d.error().message.find("no files/ of the merged folders provides /etc/app/secret.conf") != std::string::npos);
    }
}

TEST_CASE("templates render again in a partial render: a fact changed, no file did") {
    FakeTree before = sample();
    DesiredState base = ok(before);
    RenderOptions o = with_base(base);
    set_var(o.facts, "host.name", VarValue::string("web2"));
    bool partial = false;
    auto d = incremental(before, before, base, o, &partial);
    REQUIRE(d);
    CHECK(partial);
    RenderOptions whole = web1();
    set_var(whole.facts, "host.name", VarValue::string("web2"));
    CHECK(*d == ok(before, whole));
    CHECK(d->blobs.count(d->files.at("/etc/app/app.conf").id) == 1);
}

TEST_CASE("seeded random changes: a partial render filled in equals the whole render, step by step") {
    std::uint64_t seed = std::random_device{}();
    if (const char *e = std::getenv("FJORD_RENDER_SEED")) seed = std::strtoull(e, nullptr, 10); // to replay a failure
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const std::vector<std::string> roots = {"hosts/web1/files", "bundles/base/files"};
    const std::vector<std::string> dirs = {"etc", "etc/a", "etc/a/b", "srv", "srv/x", "opt"};
    const std::vector<std::string> names = {"one", "two", "three", "four.tmpl", "five.age", "six"};
    FakeTree tree = sample();
    DesiredState base = ok(tree);
    int partials = 0, wholes = 0, refusals = 0;
    for (int step = 0; step < 400; ++step) {
        INFO("step " << step);
        FakeTree now = tree;
        // As in Git, a name is a file or a folder, never both: what a new entry displaces goes.
        auto clear = [&](const std::string &path) -> FakeTree & {
            for (const auto &p : now.paths())
                if (p.starts_with(path + "/") || path.starts_with(p + "/")) now.remove(p);
            return now;
        };
        for (int k = 0, n = 1 + static_cast<int>(pick(3)); k < n; ++k) {
            std::string path = roots[pick(roots.size())] + "/" + dirs[pick(dirs.size())] + "/" + names[pick(names.size())];
            auto all = now.paths();
            std::string existing = all[pick(all.size())];
            bool in_files = existing.find("/files/") != std::string::npos;
            switch (pick(9)) {
            case 0: case 1: clear(path).file(path, path.ends_with(".tmpl") ? "v={{name}} {{host.name}} " + std::to_string(step) + "\n"
                                                                           : "c" + std::to_string(rng() % 5)); break;
            case 2: if (in_files) now.remove(existing); break;
            case 3: clear(path).file(path, "exec", pick(2) == 0); break;
            case 4: clear(path).link(path, "../motd"); break;
            case 5: clear(path).remove(path).file(path + "/inner", "became a folder"); break; // file -> folder
            case 6: clear(path).file(path, "became a file"); break;                           // folder -> file
            case 7: if (pick(4) == 0) now.file("bundles/base/fjord.toml", "[vars]\nname = \"n" + std::to_string(step) + "\"\n"); break;
            case 8: if (in_files && existing.ends_with("e")) now.file(existing, "edited " + std::to_string(step)); break;
            }
        }
        bool partial = false;
        auto whole = render(now, web1());
        auto inc = incremental(now, tree, base, with_base(base), &partial);
        REQUIRE(whole.has_value() == inc.has_value());
        if (!whole) {
            ++refusals; // the commit is refused: the host keeps the base
            continue;
        }
        CHECK(difference(*inc, *whole) == "");
        partials += partial;
        wholes += !partial;
        tree = now;
        base = *whole;
    }
    MESSAGE("partial " << partials << ", whole " << wholes << ", refused " << refusals);
    CHECK(partials > 100); // the sequence exercised the partial path, not only the fallback
}
