// fjordctl diff's content: unified hunks made from buffers, type/mode/owner lines, secrets never
// shown, and the bounds a hostile commit cannot get past.
#include "apply/preview.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

using namespace fjord;
using namespace fjord::test;

namespace {

void write(const std::string &path, const std::string &content, unsigned mode = 0644) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
}

// Whoever runs the test owns the files it writes.
std::string me() { return std::string(getpwuid(getuid())->pw_name) + ":" + getgrgid(getgid())->gr_name; }

std::string preview_of(ApplyHost &h, const DesiredState &d, const PreviewLimits &lim = {}) {
    auto prev = h.store.load(*h.store.current());
    auto p = h.plan(d);
    REQUIRE(p);
    PreviewSources src{h.fs, &h.store, &h.blobs, "abc1234"};
    return preview(*p, *prev, d, src, lim);
}

} // namespace

TEST_CASE("unified_diff: one exact hunk, as git diff shows it") {
    std::string d = unified_diff("a\nb\nc\n", "a\nB\nc\n", "/etc/x (live)", "/etc/x (abc1234)", 100);
    CHECK(d == "--- /etc/x (live)\n+++ /etc/x (abc1234)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    CHECK(unified_diff("same\n", "same\n", "a", "b", 100).empty());
    CHECK(unified_diff("x", "y", "a", "b", 100) ==
          "--- a\n+++ b\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n");
    CHECK(unified_diff(std::string("a\0b", 3), "ab", "a", "b", 100) == "Binary files differ\n");
}

TEST_CASE("unified_diff: bounded, then how many lines were left out") {
    std::string big;
    for (int i = 0; i < 10000; ++i) big += "line " + std::to_string(i) + "\n";
    std::string d = unified_diff("", big, "/dev/null", "/x", 50);
    CHECK(std::count(d.begin(), d.end(), '\n') == 53); // ---, +++, 50 lines, the note
    CHECK(d.find("... 9951 more lines\n") != std::string::npos);
}

TEST_CASE("preview: content against the live file, mode, type, secrets never shown") {
    ApplyHost h;
    write(h.root.path + "/etc/app.conf", "port = 80\nhost = a\n", 0600);
    write(h.root.path + "/etc/secret.conf", "OLD-PLAINTEXT\n");
    ::symlink("elsewhere", (h.root.path + "/etc/link").c_str());
    DesiredState d;
    d.files["/etc/app.conf"] = h.spec("/etc/app.conf", "port = 8080\nhost = a\n", 0644);
    d.files["/etc/app.conf"].owner = "nobody";
    d.files["/etc/app.conf"].group = "nogroup";
    d.files["/etc/new.conf"] = h.spec("/etc/new.conf", "fresh\n");
    FileSpec s = h.spec("/etc/secret.conf", "NEW-CIPHERTEXT\n");
    s.secret = true;
    d.files["/etc/secret.conf"] = s;
    FileSpec f = h.spec("/etc/link", "now a file\n");
    d.files["/etc/link"] = f;
    std::string out = preview_of(h, d);
    INFO(out);
    CHECK(out.find("~ /etc/app.conf (adopted: original kept)\n  mode 0600 -> 0644\n  owner " + me() + " -> nobody:nogroup\n") !=
          std::string::npos);
    CHECK(out.find("--- /etc/app.conf (live)\n+++ /etc/app.conf (abc1234)\n@@ -1,2 +1,2 @@\n-port = 80\n+port = 8080\n host = a\n") !=
          std::string::npos);
    CHECK(out.find("+ /etc/new.conf\n--- /dev/null\n+++ /etc/new.conf (abc1234)\n@@ -0,0 +1 @@\n+fresh\n") != std::string::npos);
    CHECK(out.find("~ /etc/secret.conf (adopted: original kept) (secret changed)\n") != std::string::npos);
    CHECK(out.find("PLAINTEXT") == std::string::npos);
    CHECK(out.find("CIPHERTEXT") == std::string::npos);
    CHECK(out.find("  type symlink -> file\n") != std::string::npos);
}

TEST_CASE("preview: a file larger than the bound is not read, and the total is bounded") {
    ApplyHost h;
    write(h.root.path + "/big", std::string(4096, 'x'));
    DesiredState d;
    d.files["/big"] = h.spec("/big", "small\n");
    for (int i = 0; i < 50; ++i) d.files["/f" + std::to_string(i)] = h.spec("/f" + std::to_string(i), "a\nb\nc\n");
    PreviewLimits lim;
    lim.max_bytes = 1024;
    lim.total_lines = 40;
    std::string out = preview_of(h, d, lim);
    INFO(out);
    CHECK(out.find("(4096 bytes on the host: not diffed)") != std::string::npos);
    CHECK(out.find("more changes not shown (fjordctl diff --stat lists them all)\n") != std::string::npos);
    CHECK(std::count(out.begin(), out.end(), '\n') <= 41);
}

TEST_CASE("preview: a unit's settings and a container's spec, what changes of each") {
    ApplyHost h;
    Generation prev;
    Plan plan;
    UnitSpec u;
    u.name = "web.service";
    prev.units[u.name] = u;
    u.state = "stopped";
    u.enable = false;
    plan.next.units[u.name] = u;
    UnitSpec gone;
    gone.name = "old.service";
    prev.units[gone.name] = gone;
    plan.units.before.push_back({UnitStep::stop, "old.service"});
    AppliedContainer c;
    c.spec.name = "app";
    c.spec.image = "registry.example.net/app:1.0";
    c.spec.env["MODE"] = "a";
    prev.containers["app"] = c;
    c.spec.image = "registry.example.net/app:1.1";
    c.spec.env["MODE"] = "b";
    plan.next.containers["app"] = c;
    plan.containers.push_back({ContainerChange::replace, "app"});
    std::string out = preview(plan, prev, DesiredState{}, PreviewSources{h.fs, &h.store, &h.blobs, "abc1234"});
    INFO(out);
    CHECK(out.find("- unit old.service\n~ unit web.service\n  enable = true -> false\n  state = started -> stopped\nsystemd:\n  stop old.service\n") !=
          std::string::npos);
    CHECK(out.find("container app: replace registry.example.net/app:1.1 (was registry.example.net/app:1.0)\n") != std::string::npos);
    CHECK(out.find("--- container app (applied)\n+++ container app (abc1234)\n") != std::string::npos);
    CHECK(out.find("\n-    \"MODE\": \"a\"\n+    \"MODE\": \"b\"\n") != std::string::npos);
    CHECK(out.find("-  \"image\": \"registry.example.net/app:1.0\",\n+  \"image\": \"registry.example.net/app:1.1\",\n") != std::string::npos);
}

TEST_CASE("preview: long lines count against the byte bound") {
    ApplyHost h;
    DesiredState d;
    for (int i = 0; i < 5; ++i) d.files["/l" + std::to_string(i)] = h.spec("/l" + std::to_string(i), std::string(2000, 'x') + "\n");
    PreviewLimits lim;
    lim.total_bytes = 5000;
    std::string out = preview_of(h, d, lim);
    CHECK(out.size() < 5200);
    CHECK(out.find("... 3 more changes not shown") != std::string::npos);
}
