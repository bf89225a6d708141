// The drift pass at the stat floor: folders opened once each from their parent's fd, one
// fstatat a file, content hashed only where the stat moved, and never a symlink followed out of
// apply.root. Each case applies a generation for real and then changes the host under it.
#include "apply/drift.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

using namespace fjord;
using namespace fjord::test;

namespace {

// Applies `files` (path -> content) as generation 1 and returns it.
Generation applied(ApplyHost &h, const std::map<std::string, std::string> &files) {
    DesiredState d;
    for (const auto &[p, c] : files) d.files.emplace(p, h.spec(p, c));
    REQUIRE(h.apply(d));
    return *h.store.load(1);
}

std::map<std::string, std::string> events_of(const std::vector<DriftEvent> &ev) {
    std::map<std::string, std::string> out;
    for (const auto &e : ev) out[e.path] = e.what + (e.fixable ? "" : " (unfixable)");
    return out;
}

std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] auto &e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

} // namespace

TEST_CASE("drift walk: files in many folders cost one open per folder and one stat per file") {
    ApplyHost h;
    std::map<std::string, std::string> files;
    // Names that sort between a folder's files and its subfolders' ("b.conf" < "b/x" < "b0"),
    // so folders are left and come back in path order.
    for (const char *p : {"/etc/a/b.conf", "/etc/a/b/x", "/etc/a/b/c/y", "/etc/a/b/z", "/etc/a/b-x/f", "/etc/a/b0",
                          "/etc/z", "/top", "/var/lib/app/state", "/var/lib/app2/state", "/var/log/x"})
        files[p] = std::string("content of ") + p;
    Generation gen = applied(h, files);
    StatCache cache;
    auto none = find_drift(h.fs, gen, cache);
    REQUIRE(none);
    CHECK(none->empty());
    CHECK(cache.size() == files.size());

    // Folders: /etc /etc/a /etc/a/b /etc/a/b/c /etc/a/b-x /var /var/lib /var/lib/app /var/lib/app2 /var/log
    FolderWalk walk(h.fs);
    for (const auto &[p, c] : files) {
        auto st = walk.stat(p);
        REQUIRE(st);
        CHECK(st->kind == LiveKind::file);
        CHECK(st->ino == h.fs.stat(p)->ino);
        CHECK(*walk.content_id(p) == blob_id(c));
    }
    CHECK(walk.opened() == 10);
    CHECK(walk.open_now() == 2); // only the chain to the last folder: /var, /var/log
}

TEST_CASE("drift walk: a folder swapped for a symlink out of the root is reported, never followed") {
    ApplyHost h;
    Generation gen = applied(h, {{"/etc/app/a.conf", "a"}, {"/etc/app/sub/b.conf", "b"}, {"/etc/other", "o"}});
    // Outside the root: the very same files, so following the link would find no drift at all.
    TempDir outside;
    spit(outside.path + "/a.conf", "a");
    spit(outside.path + "/sub/b.conf", "b");
    std::filesystem::rename(h.root.path + "/etc/app", h.root.path + "/etc/app.moved");
    REQUIRE(::symlink(outside.path.c_str(), (h.root.path + "/etc/app").c_str()) == 0);

    StatCache cache;
    auto ev = find_drift(h.fs, gen, cache);
    REQUIRE(ev);
    auto got = events_of(*ev);
    REQUIRE(got.size() == 2);
    CHECK(got["/etc/app/a.conf"] == "/etc/app is a symlink or not a folder on the host; fjord does not write through it (unfixable)");
    CHECK(got["/etc/app/sub/b.conf"] == "/etc/app is a symlink or not a folder on the host; fjord does not write through it (unfixable)");
    CHECK(cache.size() == 1); // only /etc/other was seen
}

TEST_CASE("drift walk: a folder in the middle swapped for a file or symlink to a folder inside the root") {
    ApplyHost h;
    Generation gen = applied(h, {{"/srv/x/y/f", "f"}, {"/srv/x/z", "z"}});
    // A symlink to a folder inside the root is refused as well: fjord never writes through one.
    std::filesystem::rename(h.root.path + "/srv/x/y", h.root.path + "/srv/y2");
    REQUIRE(::symlink("../y2", (h.root.path + "/srv/x/y").c_str()) == 0);
    StatCache cache;
    auto got = events_of(*find_drift(h.fs, gen, cache));
    REQUIRE(got.size() == 1);
    CHECK(got["/srv/x/y/f"].find("/srv/x/y is a symlink or not a folder") == 0);

    std::filesystem::remove(h.root.path + "/srv/x/y");
    spit(h.root.path + "/srv/x/y", "now a file");
    got = events_of(*find_drift(h.fs, gen, cache));
    REQUIRE(got.size() == 1);
    CHECK(got["/srv/x/y/f"].find("/srv/x/y is a symlink or not a folder") == 0);
}

TEST_CASE("drift walk: a file replaced by a folder, a missing folder, a changed symlink") {
    ApplyHost h;
    DesiredState d;
    d.files.emplace("/etc/a", h.spec("/etc/a", "a"));
    for (const char *p : {"/opt/app/bin/run", "/opt/app/etc/x.conf", "/opt/app/etc/y.conf", "/opt/app/z"})
        d.files.emplace(p, h.spec(p, p));
    FileSpec link;
    link.path = "/etc/link";
    link.kind = FileKind::symlink;
    link.target = "/etc/a";
    d.files.emplace(link.path, link);
    REQUIRE(h.apply(d));
    Generation gen = *h.store.load(1);

    std::filesystem::remove(h.root.path + "/etc/a");
    std::filesystem::create_directory(h.root.path + "/etc/a");
    std::filesystem::remove_all(h.root.path + "/opt/app");
    std::filesystem::remove(h.root.path + "/etc/link");
    REQUIRE(::symlink("/elsewhere", (h.root.path + "/etc/link").c_str()) == 0);

    StatCache cache;
    auto ev = find_drift(h.fs, gen, cache);
    REQUIRE(ev);
    auto got = events_of(*ev);
    CHECK(got == std::map<std::string, std::string>{{"/etc/a", "replaced by a folder (unfixable)"},
                                                    {"/etc/link", "symlink target changed"},
                                                    {"/opt/app/bin/run", "missing"},
                                                    {"/opt/app/etc/x.conf", "missing"},
                                                    {"/opt/app/etc/y.conf", "missing"},
                                                    {"/opt/app/z", "missing"}});
}

TEST_CASE("drift: a touch is hashed and refreshes the stamp; same size and mtime put back is caught by ctime") {
    ApplyHost h;
    Generation gen = applied(h, {{"/etc/a", "alpha"}, {"/etc/b", "bravo"}});
    StatCache cache = h.store.load_stat_cache(); // none yet: every file is hashed once
    std::size_t refreshed = 0;
    REQUIRE(find_drift(h.fs, gen, cache, {}, &refreshed)->empty());
    CHECK(refreshed == 2);
    CHECK(cache.changed());
    REQUIRE(h.store.save_stat_cache(cache));
    cache = h.store.load_stat_cache();
    REQUIRE(cache.size() == 2);
    REQUIRE(find_drift(h.fs, gen, cache, {}, &refreshed)->empty());
    CHECK(refreshed == 0);
    CHECK_FALSE(cache.changed());

    // Only the stat moves: the content is hashed, found the same, and the stamp refreshed.
    std::string a = h.root.path + "/etc/a";
    struct timespec later[2] = {{0, UTIME_OMIT}, {1'000'000'000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, a.c_str(), later, 0) == 0);
    REQUIRE(find_drift(h.fs, gen, cache, {}, &refreshed)->empty());
    CHECK(refreshed == 1);
    CHECK(cache.changed());
    REQUIRE(h.store.save_stat_cache(cache));
    REQUIRE(find_drift(h.fs, gen, cache, {}, &refreshed)->empty());
    CHECK(refreshed == 0);
    CHECK_FALSE(cache.changed());

    // Same size, the old mtime put back, the same inode: only ctime tells.
    std::string b = h.root.path + "/etc/b";
    struct stat before;
    REQUIRE(::stat(b.c_str(), &before) == 0);
    ::usleep(20'000); // past the file system's ctime granularity
    {
        int fd = ::open(b.c_str(), O_WRONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, "BRAVO", 5, 0) == 5);
        ::close(fd);
    }
    struct timespec back[2] = {{0, UTIME_OMIT}, before.st_mtim};
    REQUIRE(::utimensat(AT_FDCWD, b.c_str(), back, 0) == 0);
    struct stat after;
    REQUIRE(::stat(b.c_str(), &after) == 0);
    REQUIRE(after.st_ino == before.st_ino);
    REQUIRE(after.st_size == before.st_size);
    REQUIRE(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    auto ev = find_drift(h.fs, gen, cache);
    REQUIRE(ev);
    REQUIRE(ev->size() == 1);
    CHECK(ev->at(0).path == "/etc/b");
    CHECK(ev->at(0).what == "content changed");
    // A drifted file keeps its old stamp, so the next pass hashes it again and reports it again.
    CHECK(find_drift(h.fs, gen, cache)->size() == 1);
}

TEST_CASE("drift: stamps of paths a generation no longer holds are dropped") {
    ApplyHost h;
    Generation gen = applied(h, {{"/etc/a", "a"}, {"/etc/b", "b"}});
    StatCache cache;
    REQUIRE(find_drift(h.fs, gen, cache)->empty());
    REQUIRE(h.store.save_stat_cache(cache));
    REQUIRE(cache.size() == 2);
    gen.files.erase("/etc/b");
    REQUIRE(find_drift(h.fs, gen, cache)->empty());
    CHECK(cache.size() == 1);
    CHECK(cache.changed());
    CHECK(cache.find("/etc/a"));
    CHECK_FALSE(cache.find("/etc/b"));
}

TEST_CASE("drift walk: 100 folders deep, with few fds, answers as RootedFs does") {
    TempDir root;
    auto fs = RootedFs::open(root.path);
    REQUIRE(fs);
    std::mt19937 rng(42);
    // Files at every depth of one 100-deep chain, in side folders off it, some missing; the
    // walk leaves deep folders for shallow ones and back, with room for only 4 open folders.
    std::vector<std::string> paths;
    std::string dir;
    for (int depth = 0; depth < 100; ++depth) {
        dir += "/d" + std::to_string(depth);
        paths.push_back(dir + "/f");
        if (depth % 7 == 0) paths.push_back(dir + ".side/g");
        if (depth % 11 == 0) paths.push_back(dir + "/gone/h");
    }
    for (const auto &p : paths)
        if (p.find("/gone/") == std::string::npos && rng() % 5) REQUIRE(fs->write_file(p, p, 0644, ::geteuid(), ::getegid()));
    // A symlink in the chain at depth 60: everything below it is refused.
    std::string at60;
    for (int depth = 0; depth <= 60; ++depth) at60 += "/d" + std::to_string(depth);
    std::filesystem::rename(root.path + at60, root.path + at60 + ".real");
    REQUIRE(::symlink((root.path + at60 + ".real").c_str(), (root.path + at60).c_str()) == 0);
    std::sort(paths.begin(), paths.end());

    std::size_t fds = open_fds();
    FolderWalk walk(*fs, 4);
    for (const auto &p : paths) {
        fs->forget();
        auto want = fs->stat(p);
        auto got = walk.stat(p);
        CHECK(walk.open_now() <= 4);
        REQUIRE(bool(want) == bool(got));
        if (!want) {
            CHECK(got.error().message == want.error().message);
            continue;
        }
        CHECK(got->kind == want->kind);
        CHECK(got->ino == want->ino);
        if (got->kind == LiveKind::file) CHECK(*walk.read_file(p, 1000) == p);
    }
    fs->forget();
    CHECK(open_fds() <= fds + 4);
}

TEST_CASE("drift walk: a random tree in random sorted order answers as RootedFs does") {
    TempDir root;
    auto fs = RootedFs::open(root.path);
    REQUIRE(fs);
    std::mt19937 rng(7);
    const char *names[] = {"a", "b", "a.b", "a-b", "a0", "ab"};
    std::set<std::string> all;
    for (int i = 0; i < 300; ++i) {
        std::string p;
        int depth = 1 + int(rng() % 5);
        for (int k = 0; k < depth; ++k) p += std::string("/") + names[rng() % 6];
        all.insert(p);
    }
    // Write some as files; a path that is a folder of another written one stays a folder.
    for (const auto &p : all)
        if (rng() % 2) (void)fs->write_file(p, "x", 0644, ::geteuid(), ::getegid());
    // Paths fjord never makes still get RootedFs's answer.
    for (const char *bad : {"/a//b", "/a/./b", "/a/../b", "relative", "/a/", "/", "//b"}) all.insert(bad);
    FolderWalk walk(*fs, 3);
    std::string prev;
    for (const auto &p : all) {
        fs->forget();
        auto want = fs->stat(p);
        auto got = walk.stat(p);
        INFO(p, ": ", want ? "" : want.error().message, " / ", got ? "" : got.error().message, " kind ", got ? int(got->kind) : -1, " prev ", prev);
        REQUIRE(bool(want) == bool(got));
        if (!want) CHECK(got.error().message == want.error().message);
        else {
            CHECK(got->kind == want->kind);
            CHECK(got->ino == want->ino);
        }
        prev = p;
    }
}
