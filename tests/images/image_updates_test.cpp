// Image automation's decision and memory, with a fake registry (the real client is tested
// against a real docker-registry in tests/integration/registry.sh).
#include "images/image_updates.hpp"
#include "support/fake_registry.hpp"
#include "support/temp_dir.hpp"
#include "util/fs.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace fjord;
namespace fs = std::filesystem;

namespace {

using test::FakeRegistry; // a missing repository is a 404
using test::TempDir;

const std::string bb = "127.0.0.1:5000/demo/bb";

ImageUpdateStore fresh(const TempDir &d) {
    auto s = ImageUpdateStore::load(d.path);
    REQUIRE(s);
    return std::move(*s);
}

} // namespace

TEST_CASE("image updates: the newest matching tag by version order, with its digest and summary") {
    TempDir d;
    auto store = fresh(d);
    FakeRegistry reg;
    reg.repos[bb] = {"1.2.1", "1.2.2", "1.2.10", "1.3.0", "1.2.3-rc1", "1.2.9"};
    std::vector<ContainerImageSpec> specs = {{"web", bb + ":1.2.1", "glob:1.2.*"}};
    auto c = check_image_updates(store, specs, reg, 1000);
    CHECK(c.errors.empty());
    REQUIRE(c.updates.size() == 1);
    const ImageUpdate &u = c.updates[0];
    CHECK(u.container == "web");
    CHECK(u.image == bb + ":1.2.10");
    CHECK(u.old_tag == "1.2.1");
    CHECK(u.new_tag == "1.2.10");
    CHECK(u.digest == "sha256:digest-of-demo/bb:1.2.10");
    CHECK(u.summary() == "web: 1.2.1 -> 1.2.10 (glob:1.2.*)");
    CHECK(store.find("web")->last_check == 1000);
    CHECK(store.find("web")->last_error.empty());
    // Not deployed yet: the container still runs the spec's image.
    CHECK(store.effective_image(specs[0]) == bb + ":1.2.1");

    store.mark_deployed("web", "1.2.10", u.digest);
    CHECK(store.effective_image(specs[0]) == bb + ":1.2.10");
    c = check_image_updates(store, specs, reg, 1001);
    CHECK(c.updates.empty()); // nothing newer
}

TEST_CASE("image updates: a bad tag is never picked again, and nothing goes backwards") {
    TempDir d;
    auto store = fresh(d);
    FakeRegistry reg;
    reg.repos[bb] = {"1.2.1", "1.2.2"};
    std::vector<ContainerImageSpec> specs = {{"web", bb + ":1.2.1", "glob:1.2.*"}};
    auto c = check_image_updates(store, specs, reg, 1);
    REQUIRE(c.updates.size() == 1);
    CHECK(c.updates[0].summary() == "web: 1.2.1 -> 1.2.2 (glob:1.2.*)");
    store.mark_bad("web", "1.2.2"); // its checks failed; the host went back to 1.2.1
    c = check_image_updates(store, specs, reg, 2);
    CHECK(c.updates.empty());
    reg.repos[bb].push_back("1.2.3");
    c = check_image_updates(store, specs, reg, 3);
    REQUIRE(c.updates.size() == 1);
    CHECK(c.updates[0].new_tag == "1.2.3");
    // A tag deployed by automation above what the policy would pick now is kept (no downgrade).
    store.mark_deployed("web", "1.2.3", "sha256:x");
    store.mark_bad("web", "1.2.3");
    c = check_image_updates(store, specs, reg, 4);
    CHECK(c.updates.empty());
}

TEST_CASE("image updates: pinned containers are not asked about; errors name the container") {
    TempDir d;
    auto store = fresh(d);
    FakeRegistry reg;
    reg.repos[bb] = {"1.2.1", "1.2.2"};
    std::vector<ContainerImageSpec> specs = {
        {"pinned", bb + ":1.2.1", ""},
        {"gone", "127.0.0.1:5000/demo/nope:1.0.0", "semver:~1.0"},
        {"typo", bb + ":1.2.1", "glob:1.2.*x/"},
        {"bad-ref", "127.0.0.1:5000/Demo:1", "glob:*"},
        {"digest", bb + "@sha256:" + std::string(64, 'a'), "glob:1.2.*"},
        {"web", bb + ":1.2.1", "semver:~1.2"},
    };
    auto c = check_image_updates(store, specs, reg, 7);
    CHECK(reg.list_calls == 2); // "gone" and "web" only
    REQUIRE(c.updates.size() == 1);
    CHECK(c.updates[0].container == "web");
    REQUIRE(c.errors.size() == 4);
    CHECK(c.errors[0].code == Errc::not_found);
    CHECK(c.errors[0].message ==
          "container gone: registry 127.0.0.1:5000, image demo/nope: list tags: unknown repository (404)");
    CHECK(c.errors[1].message.rfind("container typo: update policy \"glob:1.2.*x/\": '/' cannot occur", 0) == 0);
    CHECK(c.errors[2].message.rfind("container bad-ref: image \"127.0.0.1:5000/Demo:1\"", 0) == 0);
    CHECK(c.errors[3].message.find("is pinned by digest") != std::string::npos);
    CHECK(store.find("gone")->last_error ==
          "registry 127.0.0.1:5000, image demo/nope: list tags: unknown repository (404)");
    CHECK(store.find("gone")->last_check == 7);
    CHECK(store.find("pinned")->last_check == 0);

    reg.down = Error{Errc::network, "registry 127.0.0.1:5000, image demo/bb: list tags: unreachable: refused"};
    c = check_image_updates(store, {{"web", bb + ":1.2.1", "semver:~1.2"}}, reg, 8);
    CHECK(c.updates.empty());
    REQUIRE(c.errors.size() == 1);
    CHECK(c.errors[0].code == Errc::network);
    CHECK(store.find("web")->last_error.find("unreachable") != std::string::npos);
    CHECK(!store.find("gone")); // dropped from Git, dropped from the state
}

TEST_CASE("image updates: a new image in Git starts again from its tag") {
    TempDir d;
    auto store = fresh(d);
    FakeRegistry reg;
    reg.repos[bb] = {"1.2.1", "1.2.2", "1.2.5"};
    reg.repos["127.0.0.1:5000/demo/other"] = {"1.2.5"};
    std::vector<ContainerImageSpec> specs = {{"web", bb + ":1.2.1", "glob:1.2.*"}};
    (void)check_image_updates(store, specs, reg, 1);
    store.mark_deployed("web", "1.2.5", "sha256:a");
    store.mark_bad("web", "1.2.2");
    // The commit bumps the image itself: Git wins; bad tags of the same repository stay bad.
    specs[0].image = bb + ":1.2.1-fixed";
    auto c = check_image_updates(store, specs, reg, 2);
    CHECK(store.find("web")->current_tag.empty());
    CHECK(store.find("web")->bad_tags == std::set<std::string>{"1.2.2"});
    CHECK(store.effective_image(specs[0]) == bb + ":1.2.1-fixed");
    REQUIRE(c.updates.size() == 1);
    CHECK(c.updates[0].old_tag == "1.2.1-fixed");
    CHECK(c.updates[0].new_tag == "1.2.5");
    // Another repository: its bad tags start empty.
    specs[0].image = "127.0.0.1:5000/demo/other:1.2.0";
    (void)check_image_updates(store, specs, reg, 3);
    CHECK(store.find("web")->bad_tags.empty());
    // Pinned now: the spec's own image, whatever automation deployed before.
    store.mark_deployed("web", "1.2.5", "sha256:b");
    CHECK(store.effective_image({"web", specs[0].image, ""}) == specs[0].image);
}

TEST_CASE("image update state: saved crash-safely, read back whole, a corrupt file moved aside") {
    TempDir d;
    {
        auto store = fresh(d);
        FakeRegistry reg;
        reg.repos[bb] = {"1.2.1", "1.2.2"};
        (void)check_image_updates(store, {{"web", bb + ":1.2.1", "glob:1.2.*"}}, reg, 42);
        store.mark_bad("web", "1.2.2");
        store.mark_deployed("web", "1.2.1", "sha256:abc");
        REQUIRE(store.save());
    }
    struct stat st {};
    REQUIRE(::stat((d.path + "/images").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    for (const auto &e : fs::directory_iterator(d.path)) CHECK(e.path().filename() == "images"); // no temp file left
    auto again = fresh(d);
    CHECK(again.warning().empty());
    const ContainerImageState *s = again.find("web");
    REQUIRE(s);
    CHECK(s->image == bb + ":1.2.1");
    CHECK(s->policy == "glob:1.2.*");
    CHECK(s->current_tag == "1.2.1");
    CHECK(s->current_digest == "sha256:abc");
    CHECK(s->bad_tags == std::set<std::string>{"1.2.2"});
    CHECK(s->last_check == 42);

    CHECK(!ImageUpdateStore::parse(R"({"version": 1, "containers": {"web": {"bad_tags": [1]}}})"));
    CHECK(ImageUpdateStore::parse(R"({"version": 1, "containers": {"web": {"last_check": "x"}}})").error().message ==
          "containers.web.last_check is not an integer");
    CHECK(!ImageUpdateStore::parse(R"({"version": 2, "containers": {}})"));

    std::ofstream(d.path + "/images") << "{\"version\": 1, \"contain";
    auto broken = fresh(d);
    CHECK(broken.all().empty());
    CHECK(broken.warning().find("/images was corrupt (not a JSON object); moved to ") != std::string::npos);
    CHECK(fs::exists(d.path + "/images.broken"));
    CHECK(!fs::exists(d.path + "/images"));
}

TEST_CASE("a failed deploy marks its tag bad only when the tag caused it") {
    // Checks or a post-apply hook failed, invalid content: the tag's fault.
    CHECK(tag_failed_itself(Errc::invalid, true, false));
    CHECK(tag_failed_itself(Errc::invalid, false, false));
    // Applied, rolled back on a podman error while podman answers: it would not start.
    CHECK(tag_failed_itself(Errc::io, true, true));
    // Transient: podman or the registry out of reach, before or after the journal.
    CHECK(!tag_failed_itself(Errc::io, false, false));
    CHECK(!tag_failed_itself(Errc::io, false, true));
    CHECK(!tag_failed_itself(Errc::io, true, false));
    CHECK(!tag_failed_itself(Errc::network, false, true));
    CHECK(!tag_failed_itself(Errc::network, true, true));
    // A pre-apply hook refusal, a halt, a host problem: nothing about the tag.
    CHECK(!tag_failed_itself(Errc::refused, false, true));
    CHECK(!tag_failed_itself(Errc::internal, false, true));
}

TEST_CASE("a deploy recorded as pending is settled from the current generation at start") {
    TempDir d;
    const std::string img = "127.0.0.1:5000/demo/bb";
    ImageUpdate u{"web", img + ":1.2.2", "1.2.1", "1.2.2", "glob:1.2.*", "sha256:new"};
    {
        auto store = fresh(d);
        store.sync_specs({{"web", img + ":1.2.0", "glob:1.2.*"}, {"db", img + ":2.0", "glob:2.*"}});
        store.mark_deployed("web", "1.2.1", "sha256:old");
        store.set_pending(u);
        store.set_pending(ImageUpdate{"db", img + ":2.1", "2.0", "2.1", "glob:2.*", "sha256:db"});
        REQUIRE(store.save());
    }
    // fjordd died after the generation was committed: the pending tag survived on disk.
    auto after = fresh(d);
    REQUIRE(after.find("web"));
    CHECK(after.find("web")->pending_tag == "1.2.2");
    CHECK(after.find("web")->current_tag == "1.2.1");
    // The current generation runs web at 1.2.2 (committed) and db still at 2.0 (not reached).
    CHECK(after.settle_pending({{"web", img + ":1.2.2"}, {"db", img + ":2.0"}}));
    CHECK(after.find("web")->current_tag == "1.2.2");
    CHECK(after.find("web")->current_digest == "sha256:new");
    CHECK(after.find("web")->pending_tag.empty());
    CHECK(after.find("db")->current_tag.empty());
    CHECK(after.find("db")->pending_tag.empty());
    CHECK(after.effective_image({"web", img + ":1.2.0", "glob:1.2.*"}) == img + ":1.2.2");
    CHECK(!after.settle_pending({{"web", img + ":1.2.2"}})); // nothing pending: nothing to save
    REQUIRE(after.save());
    CHECK(fresh(d).find("web")->current_tag == "1.2.2");
    // A crash before the commit: the generation still runs the old tag; the pending is dropped.
    after.set_pending(ImageUpdate{"web", img + ":1.2.3", "1.2.2", "1.2.3", "glob:1.2.*", "sha256:x"});
    CHECK(after.settle_pending({{"web", img + ":1.2.2"}}));
    CHECK(after.find("web")->current_tag == "1.2.2");
    CHECK(after.find("web")->pending_tag.empty());
}
