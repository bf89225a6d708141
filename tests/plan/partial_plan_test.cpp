// A partial render planned against its base (check_partial, make_plan taking the untouched
// paths from the current generation) must decide and plan exactly as the same render filled in
// with the base's specs first (fill_partial + complete_partial, what fjordd did before): seeded
// random bases and changes on a small tree where files, folders and links collide often.
#include "manifest/validate.hpp"
#include "plan/plan.hpp"

#include <doctest/doctest.h>
#include <map>
#include <random>

using namespace fjord;

namespace {

struct NoHost : HostProbe {
    Result<LiveKind> kind(const std::string &) const override { return LiveKind::absent; }
};

const std::vector<std::string> paths = {"/a", "/a/b", "/a/b/c", "/a/b/d", "/a/e", "/a-x", "/x", "/x/y", "/x/y/z", "/u"};
const std::vector<std::string> targets = {"b", "e", "../x", "y/z", "../a/b/c", "c", "z"};

FileSpec random_spec(std::mt19937 &rng, const std::string &path) {
    FileSpec s;
    s.path = path;
    s.origin = "hosts/h/files" + path;
    if (rng() % 3 == 0) {
        s.kind = FileKind::symlink;
        s.mode = 0777;
        s.target = targets[rng() % targets.size()];
    } else {
        s.id = std::string(40, "0123456789abcdef"[rng() % 16]);
        s.mode = rng() % 2 ? 0644 : 0600;
    }
    return s;
}

// A base: a random set that passes the whole-set checks, planned onto an empty host.
std::optional<Generation> random_base(std::mt19937 &rng, std::size_t max_files) {
    DesiredState d;
    for (const auto &p : paths)
        if (rng() % 2) d.files.emplace(p, random_spec(rng, p));
    if (rng() % 3 == 0) { // a unit, with its file among the paths
        UnitSpec u;
        u.name = "web.service";
        u.id = std::string(40, 'e');
        d.units.emplace(u.name, u);
        d.files.emplace(std::string(unit_dir) + "/web.service", random_spec(rng, std::string(unit_dir) + "/web.service"));
    }
    RenderOptions o;
    o.max_files = max_files;
    if (!complete_partial(d, o)) return std::nullopt;
    auto plan = make_plan(Generation{}, d, NoHost{}, {});
    if (!plan) return std::nullopt;
    Generation g = plan->next;
    g.units = d.units;
    return g;
}

std::vector<std::pair<ActionKind, std::string>> steps(const Plan &p) {
    std::vector<std::pair<ActionKind, std::string>> out;
    for (const auto &a : p.actions) out.emplace_back(a.kind, a.path);
    return out;
}

} // namespace

TEST_CASE("a partial render planned against its base decides and plans as the filled-in render") {
    std::mt19937 rng(20261204);
    int compared = 0, refused = 0, planned = 0;
    for (int step = 0; step < 8000; ++step) {
        std::size_t max_files = 3 + rng() % 10;
        auto base = random_base(rng, max_files);
        if (!base) continue;
        // The render's answer: some paths touched (changed, added or gone), the unit file listed
        // again or not (the render lists today's), sometimes a unit dropped.
        DesiredState d;
        d.partial = true;
        d.units = base->units;
        if (!d.units.empty() && rng() % 4 == 0) d.units.clear();
        for (const auto &p : paths) {
            if (rng() % 4) continue;
            d.touched.insert(p);
            if (rng() % 3) d.files.emplace(p, random_spec(rng, p));
        }
        for (const auto &[name, u] : d.units) {
            std::string uf = std::string(unit_dir) + "/" + name;
            d.files.emplace(uf, random_spec(rng, uf));
        }
        RenderOptions o;
        o.max_files = max_files;

        DesiredState filled = d;
        fill_partial(filled, base->files, base->units, [](const AppliedFile &af) -> const FileSpec & { return af.spec; });
        auto whole = complete_partial(filled, o);
        auto part = check_partial(d, *base, o);
        INFO("step " << step);
        ++compared;
        REQUIRE(bool(part) == bool(whole));
        if (!whole) {
            ++refused;
            CHECK(part.error().code == whole.error().code);
            continue;
        }
        auto want = make_plan(*base, filled, NoHost{}, {});
        auto got = make_plan(*base, d, NoHost{}, {});
        REQUIRE(bool(got) == bool(want));
        if (!want) continue;
        ++planned;
        CHECK(got->next.files == want->next.files);
        CHECK(got->next.dirs == want->next.dirs);
        CHECK(steps(*got) == steps(*want));
        // Taking the specs (the daemon's way) plans the same.
        auto taken = make_plan(*base, DesiredState(d), NoHost{}, {});
        REQUIRE(taken);
        CHECK(taken->next.files == want->next.files);
        CHECK(steps(*taken) == steps(*want));
    }
    // The generator must reach both sides of every rule, or this proves little.
    CHECK(compared > 1000);
    CHECK(refused > 100);
    CHECK(planned > 500);
}

TEST_CASE("check_partial names what breaks a rule across the render and its base") {
    Generation base;
    auto add = [&](const std::string &p, FileKind k, const std::string &target = "") {
        AppliedFile af;
        af.spec.path = p;
        af.spec.kind = k;
        af.spec.target = target;
        af.spec.id = k == FileKind::file ? std::string(40, 'a') : "";
        af.spec.origin = "hosts/h/files" + p;
        base.files.emplace(p, af);
    };
    add("/etc/app/conf", FileKind::file);
    add("/srv/data", FileKind::symlink, "../var");
    RenderOptions o;
    o.host_path = "hosts/h";

    DesiredState d;
    d.partial = true;
    FileSpec f;
    f.path = "/etc/app";
    f.id = std::string(40, 'b');
    f.origin = "hosts/h/files/etc/app";
    d.files.emplace(f.path, f);
    d.touched.insert(f.path);
    auto s = check_partial(d, base, o);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == "hosts/h/files/etc/app/conf: needs /etc/app to be a folder, but hosts/h/files/etc/app makes it a file");

    // A kept link through a link the render adds.
    DesiredState l;
    l.partial = true;
    FileSpec var;
    var.path = "/var";
    var.kind = FileKind::symlink;
    var.target = "opt";
    var.origin = "hosts/h/files/var";
    l.files.emplace(var.path, var);
    l.touched.insert(var.path);
    CHECK(check_partial(l, base, o)); // "../var" ends at the link: only folders on the way count
    base.files.insert_or_assign("/srv/data", [&] {
        AppliedFile af = base.files.at("/srv/data");
        af.spec.target = "../var/lib";
        return af;
    }());
    s = check_partial(l, base, o);
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("hosts/h/files/srv/data: symlink target \"../var/lib\" goes through the managed symlink /var") == 0);

    // apply.max_files counts the base's kept paths too.
    o.max_files = 2;
    DesiredState n;
    n.partial = true;
    FileSpec extra = f;
    extra.path = extra.origin = "/opt/x";
    n.files.emplace(extra.path, extra);
    n.touched.insert(extra.path);
    s = check_partial(n, base, o);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == "hosts/h: 3 files with its includes, more than apply.max_files (2)");
}
