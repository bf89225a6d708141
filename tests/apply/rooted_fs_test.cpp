// RootedFs at the limits of the host's names: NAME_MAX (255 bytes) per name, and host paths
// walked a name at a time, so their length is not bounded by PATH_MAX under apply.root.
#include "apply/rooted_fs.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace fjord;
using namespace fjord::test;

namespace {

// Every name under `root` whose name marks it as a temp file of either form.
std::vector<std::string> temps_under(const std::string &root) {
    std::vector<std::string> out;
    for (auto &e : std::filesystem::recursive_directory_iterator(root))
        if (e.path().filename().string().find("fjord-tmp") != std::string::npos) out.push_back(e.path().string());
    return out;
}

} // namespace

TEST_CASE("temp names are short whatever the name, one per name") {
    std::string longest(255, 'n');
    CHECK(RootedFs::temp_name(longest).size() <= 255);
    CHECK(RootedFs::temp_name(longest).size() == RootedFs::temp_name("a").size());
    CHECK(RootedFs::temp_name(longest) == RootedFs::temp_name(std::string(255, 'n')));
    CHECK(RootedFs::temp_name(longest) != RootedFs::temp_name(std::string(254, 'n')));
    CHECK(RootedFs::temp_name("nginx.conf").find('/') == std::string::npos);
    CHECK(RootedFs::temp_name("nginx.conf").find("fjord-tmp") != std::string::npos);
    // The form of older fjords, which recovery still removes: too long from 245 bytes on.
    CHECK(RootedFs::old_temp_name("b") == ".b.fjord-tmp");
    CHECK(RootedFs::old_temp_name(std::string(245, 'n')).size() == 256);
}

TEST_CASE("a 255-byte name is written, linked and cleaned up like any other") {
    TempDir root;
    auto fs = RootedFs::open(root.path);
    REQUIRE(fs);
    std::string name(255, 'x');
    std::string dir = "/" + std::string(250, 'd');
    std::string file = dir + "/" + name, link = "/" + std::string(255, 'l');

    auto st = fs->write_file(file, "content\n", 0640, ::geteuid(), ::getegid());
    REQUIRE(st);
    CHECK(st->kind == LiveKind::file);
    CHECK(slurp(root.path + file) == "content\n");
    CHECK(fs->write_file(file, "again\n", 0600, ::geteuid(), ::getegid()));
    CHECK(slurp(root.path + file) == "again\n");
    REQUIRE(fs->write_symlink(link, dir.substr(1) + "/" + name, ::geteuid(), ::getegid()));
    CHECK(*fs->read_link(link) == dir.substr(1) + "/" + name);
    CHECK(fs->sync());
    CHECK(temps_under(root.path).empty());

    // What a write killed before its rename leaves, removed by recovery; absent is fine too.
    spit(root.path + dir + "/" + RootedFs::temp_name(name), "half");
    REQUIRE(fs->remove_temp(file));
    CHECK(temps_under(root.path).empty());
    CHECK(fs->remove_temp(file));
    CHECK(fs->remove_temp(link));
    CHECK(fs->remove_temp("/" + std::string(255, 'a') + "/" + name)); // parent absent

    CHECK(fs->remove(file));
    CHECK(fs->remove(link));
    CHECK(*fs->remove_dir_if_empty(dir));
    CHECK(std::filesystem::is_empty(root.path));
}

TEST_CASE("remove_temp also removes the temp file of an older fjord") {
    TempDir root;
    auto fs = RootedFs::open(root.path);
    REQUIRE(fs);
    spit(root.path + "/etc/.motd.fjord-tmp", "left by an older fjord");
    spit(root.path + "/etc/" + RootedFs::temp_name("motd"), "left by this one");
    spit(root.path + "/etc/motd", "kept");
    REQUIRE(fs->remove_temp("/etc/motd"));
    CHECK(temps_under(root.path).empty());
    CHECK(slurp(root.path + "/etc/motd") == "kept");
}

TEST_CASE("a host path longer than PATH_MAX under apply.root is walked a name at a time") {
    TempDir root;
    auto fs = RootedFs::open(root.path);
    REQUIRE(fs);
    // 16 names of 255 bytes: 4095 bytes of host path, over 4096 with the root in front.
    std::string path;
    for (int i = 0; i < 16; ++i) path += "/" + std::string(255, char('a' + i));
    REQUIRE(path.size() == 4096);
    path.pop_back();
    REQUIRE(fs->write_file(path, "deep", 0644, ::geteuid(), ::getegid()));
    CHECK(*fs->read_file(path, 100) == "deep");
    CHECK(fs->stat(path)->kind == LiveKind::file);
    CHECK(fs->remove_temp(path));
    CHECK(fs->remove(path));
    for (auto dir = path.substr(0, path.rfind('/')); !dir.empty(); dir = dir.substr(0, dir.rfind('/')))
        CHECK(*fs->remove_dir_if_empty(dir));
    CHECK(std::filesystem::is_empty(root.path));
}
