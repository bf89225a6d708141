// The source layer against real things: folders on disk, and real Git repositories made with
// the git CLI and read through libgit2.
#include "source/dir_tree.hpp"
#include "source/git_source.hpp"
#include "source/known_hosts.hpp"
#include "support/temp_dir.hpp"
#include "util/hash.hpp"

#include <cstdio>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace fjord;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

void write(const std::string &path, const std::string &data) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << data;
}

// The git CLI with a fixed identity and no user or system config, so tests are reproducible.
int sh(const std::string &cmd) {
    ::setenv("GIT_AUTHOR_NAME", "Test Author", 1);
    ::setenv("GIT_AUTHOR_EMAIL", "author@example.net", 1);
    ::setenv("GIT_COMMITTER_NAME", "Test Author", 1);
    ::setenv("GIT_COMMITTER_EMAIL", "author@example.net", 1);
    ::setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    ::setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    return std::system(("set -e; " + cmd + " >/dev/null 2>&1").c_str());
}

std::string out(const std::string &cmd) {
    std::string s;
    if (FILE *p = ::popen(cmd.c_str(), "r")) {
        char buf[256];
        while (std::fgets(buf, sizeof buf, p)) s += buf;
        ::pclose(p);
    }
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

std::string rev(const std::string &repo, const std::string &what) {
    return out("git -C " + repo + " rev-parse " + what);
}

// An upstream repository with a file, an executable, a symlink and a nested folder.
std::string make_upstream(const TempDir &t) {
    std::string up = t.path + "/upstream";
    REQUIRE(sh("git init -q -b main " + up) == 0);
    write(up + "/hosts/web1/files/etc/motd", "hello\n");
    write(up + "/hosts/web1/run.sh", "#!/bin/sh\n");
    ::chmod((up + "/hosts/web1/run.sh").c_str(), 0755);
    REQUIRE(::symlink("files/etc/motd", (up + "/hosts/web1/motd-link").c_str()) == 0);
    REQUIRE(sh("cd " + up + " && git add -A && git commit -q -m 'first commit'") == 0);
    return up;
}

SourceConfig cfg_for(const std::string &url) {
    SourceConfig c;
    c.url = url;
    return c;
}

const char *ed_blob64 = "AAAAC3NzaC1lZDI1NTE5AAAAIAQMVWV1Kg8VOqewnvC5PDCFWa9zjeIPRfwyAZK8wAQq";
const char *ec_blob64 = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBC6IBB/yQ4oP4CKx8KcnQyG9zHpbu4ZFTgMqQCgDJlBIx/"
                        "iuP/D66phSHOdx3Evz9YDhMpL3VKn6/Qvv6X7HmIU=";

std::string decoded(const char *b64) {
    std::string s;
    REQUIRE(base64_decode(b64, s));
    return s;
}

} // namespace

TEST_CASE("dir_tree reports a folder as Git would, never following symlinks") {
    TempDir t;
    std::string r = t.path + "/repo";
    write(r + "/b.txt", "bee\n");
    write(r + "/a.sh", "#!/bin/sh\n");
    ::chmod((r + "/a.sh").c_str(), 0755);
    REQUIRE(::symlink("/etc/passwd", (r + "/link").c_str()) == 0);
    REQUIRE(::mkfifo((r + "/fifo").c_str(), 0644) == 0);
    write(r + "/sub/.git/HEAD", "ref: refs/heads/main\n");
    write(r + "/dir/inner.txt", "inner\n");
    write(r + "/.git/HEAD", "ref: refs/heads/main\n");
    REQUIRE(::symlink(r.c_str(), (r + "/dir/up").c_str()) == 0);

    auto tree = open_dir_tree(r);
    REQUIRE(tree);
    CHECK((*tree)->commit() == "");
    auto l = (*tree)->list("");
    REQUIRE(l);
    std::vector<std::string> names;
    for (const auto &e : *l) names.push_back(e.name);
    CHECK(names == std::vector<std::string>{"a.sh", "b.txt", "dir", "fifo", "link", "sub"});
    const auto &e = *l;
    CHECK(e[0].kind == EntryKind::file);
    CHECK(e[0].executable);
    CHECK(e[1].kind == EntryKind::file);
    CHECK_FALSE(e[1].executable);
    CHECK(e[1].id == blob_id("bee\n"));
    CHECK(e[1].id == out("git hash-object " + r + "/b.txt"));
    CHECK(e[2].kind == EntryKind::dir);
    CHECK(e[3].kind == EntryKind::other);
    CHECK(e[4].kind == EntryKind::symlink);
    CHECK(e[4].id == blob_id("/etc/passwd"));
    CHECK(e[5].kind == EntryKind::submodule);

    auto content = (*tree)->read_blob(e[1].id, 100);
    REQUIRE(content);
    CHECK(*content == "bee\n");
    CHECK((*tree)->blob_size(e[1].id).value() == 4);
    auto too_big = (*tree)->read_blob(e[1].id, 3);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().code == Errc::invalid);
    CHECK((*tree)->read_blob(e[4].id, 100).value() == "/etc/passwd");
    CHECK((*tree)->read_blob(blob_id("never listed"), 100).error().code == Errc::not_found);

    auto inner = (*tree)->list("dir");
    REQUIRE(inner);
    REQUIRE(inner->size() == 2);
    CHECK((*inner)[1].name == "up");
    CHECK((*inner)[1].kind == EntryKind::symlink);
    // A symlinked folder is an entry, never a way in.
    CHECK((*tree)->list("dir/up").error().code == Errc::not_found);
    CHECK((*tree)->list("missing").error().code == Errc::not_found);
    CHECK((*tree)->list("dir/../..").error().code == Errc::invalid);

    // Content that changed after list() is refused rather than served under the old id.
    write(r + "/b.txt", "wasp\n");
    CHECK((*tree)->read_blob(e[1].id, 100).error().code == Errc::invalid);
    CHECK(open_dir_tree(t.path + "/nope").error().code == Errc::not_found);
}

TEST_CASE("known_hosts: plain, [host]:port, wildcards, hashed, @revoked, comments") {
    std::string ed = decoded(ed_blob64), ec = decoded(ec_blob64);
    CHECK(known_hosts_name("Git.Example.net", 22) == "git.example.net");
    CHECK(known_hosts_name("127.0.0.1", 2222) == "[127.0.0.1]:2222");

    std::string text = "# a comment\n\n"
                       "[127.0.0.1]:2222 ssh-ed25519 " + std::string(ed_blob64) + " comment\n"
                       "git.example.net,10.0.0.1 ecdsa-sha2-nistp256 " + ec_blob64 + "\n"
                       "*.fleet.example.net,!bad.fleet.example.net ssh-ed25519 " + ed_blob64 + "\n"
                       "garbage line\n";
    CHECK(match_host_key(text, "127.0.0.1", 2222, ed).match == HostKeyMatch::ok);
    // The same address on port 22 is another host for ssh.
    CHECK(match_host_key(text, "127.0.0.1", 22, ed).match == HostKeyMatch::no_entry);
    CHECK(match_host_key(text, "10.0.0.1", 22, ec).match == HostKeyMatch::ok);
    auto v = match_host_key(text, "git.example.net", 22, ed);
    CHECK(v.match == HostKeyMatch::mismatch);
    CHECK(v.known_types == std::vector<std::string>{"ecdsa-sha2-nistp256"});
    CHECK(match_host_key(text, "a.fleet.example.net", 22, ed).match == HostKeyMatch::ok);
    CHECK(match_host_key(text, "bad.fleet.example.net", 22, ed).match == HostKeyMatch::no_entry);
    CHECK(match_host_key(text, "other.example.net", 22, ed).match == HostKeyMatch::no_entry);

    // Entries hashed by `ssh-keygen -H` (HashKnownHosts), for [127.0.0.1]:2222 and git.example.net.
    std::string hashed = "|1|j1jrcabJcDuMsNXNN+kuFYCd9vA=|0cNk3bPCp4X/nlWJoEvkWir2hbo= ssh-ed25519 " +
                         std::string(ed_blob64) + "\n|1|bvQcdxC/hWG20Sw5+6fKaQNKHcA=|1w5VKLHAa+8K0Ghz+rGk//5AXKc= "
                         "ecdsa-sha2-nistp256 " + ec_blob64 + "\n";
    CHECK(match_host_key(hashed, "127.0.0.1", 2222, ed).match == HostKeyMatch::ok);
    CHECK(match_host_key(hashed, "git.example.net", 22, ec).match == HostKeyMatch::ok);
    CHECK(match_host_key(hashed, "git.example.net", 22, ed).match == HostKeyMatch::mismatch);
    CHECK(match_host_key(hashed, "127.0.0.1", 2223, ed).match == HostKeyMatch::no_entry);

    std::string revoked = text + "@revoked * ssh-ed25519 " + ed_blob64 + "\n";
    CHECK(match_host_key(revoked, "127.0.0.1", 2222, ed).match == HostKeyMatch::revoked);
    CHECK(match_host_key(revoked, "10.0.0.1", 22, ec).match == HostKeyMatch::ok);

    // RFC 2202 test case 2 for HMAC-SHA1.
    std::string mac = hmac_sha1("Jefe", "what do ya want for nothing?"), hex;
    for (unsigned char c : mac) hex += "0123456789abcdef"[c >> 4], hex += "0123456789abcdef"[c & 15];
    CHECK(hex == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST_CASE("verify_host_key names the host, the file and the reason") {
    TempDir t;
    std::string kh = t.path + "/known_hosts";
    auto missing = verify_host_key(kh, "127.0.0.1", 2222, decoded(ed_blob64));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::auth);
    CHECK(missing.error().message.find(kh) != std::string::npos);
    write(kh, "[127.0.0.1]:2222 ecdsa-sha2-nistp256 " + std::string(ec_blob64) + "\n");
    auto bad = verify_host_key(kh, "127.0.0.1", 2222, decoded(ed_blob64));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.starts_with("host key for [127.0.0.1]:2222 does not match " + kh +
                                          " (the server offers ssh-ed25519, the file lists ecdsa-sha2-nistp256)"));
    auto none = verify_host_key(kh, "127.0.0.1", 2200, decoded(ed_blob64));
    REQUIRE_FALSE(none);
    CHECK(none.error().message ==
          "no entry for [127.0.0.1]:2200 in " + kh + "; add it with ssh-keyscan -p 2200 127.0.0.1 >> " + kh);
    CHECK(verify_host_key(kh, "127.0.0.1", 2222, decoded(ec_blob64)));
}

TEST_CASE("ssh keys: RSA is refused with the reason, ed25519 and ecdsa pass") {
    TempDir t;
    for (const char *type : {"ed25519", "ecdsa", "rsa"})
        REQUIRE(sh(std::string("ssh-keygen -q -N '' -C '' -t ") + type + " -f " + t.path + "/" + type) == 0);
    CHECK(ssh_key_type(t.path + "/ed25519").value() == "ssh-ed25519");
    CHECK(ssh_key_type(t.path + "/ecdsa").value() == "ecdsa-sha2-nistp256");
    CHECK(check_ssh_key(t.path + "/ed25519"));
    CHECK(check_ssh_key(t.path + "/ecdsa"));
    auto rsa = check_ssh_key(t.path + "/rsa");
    REQUIRE_FALSE(rsa);
    CHECK(rsa.error().code == Errc::auth);
    CHECK(rsa.error().message == "ssh key " + t.path +
                                     "/rsa is RSA: libssh2 1.10 signs only with SHA-1, which current sshd refuses; "
                                     "use an ed25519 or ecdsa key");
    // An old PEM RSA key, and an unreadable private key with only the .pub telling.
    REQUIRE(sh("ssh-keygen -q -N '' -C '' -t rsa -m PEM -f " + t.path + "/pem") == 0);
    CHECK_FALSE(check_ssh_key(t.path + "/pem"));
    CHECK(check_ssh_key(t.path + "/absent").error().message.find("/absent") != std::string::npos);
}

TEST_CASE("compare_versions orders numbers as numbers") {
    CHECK(compare_versions("release-10", "release-9") > 0);
    CHECK(compare_versions("release-9", "release-10") < 0);
    CHECK(compare_versions("v1.2.10", "v1.2.9") > 0);
    CHECK(compare_versions("v1.10", "v1.9.9") > 0);
    CHECK(compare_versions("a", "a") == 0);
    CHECK(compare_versions("v1.2", "v1.2.1") < 0);
}

TEST_CASE("GitSource: poll, fetch, tree and blobs from a local repository") {
    TempDir t;
    std::string up = make_upstream(t);
    auto src = GitSource::open(cfg_for(up), t.path + "/cache");
    REQUIRE(src);
    auto head = (*src)->poll();
    REQUIRE(head);
    CHECK(head->ref == "refs/heads/main");
    CHECK(head->commit == rev(up, "main"));
    // Polling fetches nothing. Trees are asked of fetched commits only, so one missing from
    // the cache is reported as the cache's damage (the daemon clones it again).
    CHECK((*src)->tree(head->commit).error().code == Errc::corrupt);
    REQUIRE((*src)->fetch(*head));
    CHECK(out("git --git-dir=" + t.path + "/cache rev-parse refs/fjord/remote") == head->commit);

    auto tree = (*src)->tree(head->commit);
    REQUIRE(tree);
    CHECK((*tree)->commit() == head->commit);
    auto root = (*tree)->list("");
    REQUIRE(root);
    REQUIRE(root->size() == 1);
    CHECK((*root)[0].name == "hosts");
    CHECK((*root)[0].kind == EntryKind::dir);
    auto web = (*tree)->list("hosts/web1");
    REQUIRE(web);
    REQUIRE(web->size() == 3);
    CHECK((*web)[0].name == "files");
    CHECK((*web)[1].name == "motd-link");
    CHECK((*web)[1].kind == EntryKind::symlink);
    CHECK((*tree)->read_blob((*web)[1].id, 100).value() == "files/etc/motd");
    CHECK((*web)[2].name == "run.sh");
    CHECK((*web)[2].executable);
    auto etc = (*tree)->list("hosts/web1/files/etc");
    REQUIRE(etc);
    REQUIRE(etc->size() == 1);
    CHECK((*etc)[0].id == blob_id("hello\n"));
    CHECK((*tree)->blob_size((*etc)[0].id).value() == 6);
    CHECK((*tree)->read_blob((*etc)[0].id, 6).value() == "hello\n");
    CHECK((*tree)->read_blob((*etc)[0].id, 5).error().code == Errc::invalid);
    CHECK((*src)->read_blob((*etc)[0].id, 100).value() == "hello\n");
    CHECK((*tree)->list("hosts/web2").error().code == Errc::not_found);
    CHECK((*tree)->list("hosts/web1/run.sh").error().code == Errc::not_found);
    CHECK((*tree)->read_blob((*root)[0].id, 100).error().code == Errc::invalid); // a tree, not a blob

    auto info = (*src)->commit_info(head->commit);
    REQUIRE(info);
    CHECK(info->subject == "first commit");
    CHECK(info->author == "Test Author <author@example.net>");
    CHECK(info->time > 1'600'000'000);

    // The tree stays usable after its source is gone (it shares the repository).
    src->reset();
    CHECK((*tree)->read_blob((*etc)[0].id, 100).value() == "hello\n");
}

TEST_CASE("GitSource: fetch of a commit already cached does no network") {
    TempDir t;
    std::string up = make_upstream(t);
    auto src = GitSource::open(cfg_for("file://" + up), t.path + "/cache");
    REQUIRE(src);
    auto head = (*src)->poll();
    REQUIRE(head);
    REQUIRE((*src)->fetch(*head));
    fs::rename(up, t.path + "/gone");
    auto poll = (*src)->poll();
    REQUIRE_FALSE(poll);
    CHECK(poll.error().code == Errc::network);
    CHECK(poll.error().message.find("file://" + up) != std::string::npos);
    CHECK((*src)->fetch(*head));
    // The same remote object serves again once the server is back.
    fs::rename(t.path + "/gone", up);
    CHECK((*src)->poll().value().commit == head->commit);
    // A fresh source on the same cache too.
    auto again = GitSource::open(cfg_for(up), t.path + "/cache");
    REQUIRE(again);
    CHECK((*again)->fetch(*head));
    CHECK((*again)->tree(head->commit));
}

TEST_CASE("GitSource: a missing branch is an error naming it") {
    TempDir t;
    std::string up = make_upstream(t);
    auto cfg = cfg_for(up);
    cfg.branch = "production";
    auto src = GitSource::open(cfg, t.path + "/cache");
    REQUIRE(src);
    auto head = (*src)->poll();
    REQUIRE_FALSE(head);
    CHECK(head.error().code == Errc::not_found);
    CHECK(head.error().message.find("'production'") != std::string::npos);
}

TEST_CASE("GitSource: tag pattern picks the newest by version order, peeled") {
    TempDir t;
    std::string up = make_upstream(t);
    std::string first = rev(up, "HEAD");
    REQUIRE(sh("cd " + up + " && git tag release-9 && git tag -a -m ten release-10 && git tag release-2"
                            " && git commit -q --allow-empty -m later && git tag other-99") == 0);
    auto cfg = cfg_for(up);
    cfg.tag = "release-*";
    auto src = GitSource::open(cfg, t.path + "/cache");
    REQUIRE(src);
    auto head = (*src)->poll();
    REQUIRE(head);
    CHECK(head->ref == "refs/tags/release-10");
    CHECK(head->commit == first); // the commit, not the annotated tag object
    REQUIRE((*src)->fetch(*head));
    CHECK((*src)->tree(head->commit));

    cfg.tag = "nothing-*";
    auto none = GitSource::open(cfg, t.path + "/cache");
    REQUIRE(none);
    auto err = (*none)->poll();
    REQUIRE_FALSE(err);
    CHECK(err.error().message.find("nothing-*") != std::string::npos);
}

TEST_CASE("GitSource: ancestry, and a rewritten branch is no descendant") {
    TempDir t;
    std::string up = make_upstream(t);
    std::string a = rev(up, "HEAD");
    REQUIRE(sh("cd " + up + " && git commit -q --allow-empty -m second") == 0);
    auto src = GitSource::open(cfg_for(up), t.path + "/cache");
    REQUIRE(src);
    auto b = (*src)->poll();
    REQUIRE(b);
    REQUIRE((*src)->fetch(*b));
    CHECK((*src)->is_descendant(b->commit, a).value());
    CHECK_FALSE((*src)->is_descendant(a, b->commit).value());
    CHECK((*src)->is_descendant(b->commit, b->commit).value());

    // What a force-push does: the branch now names a commit off to the side.
    REQUIRE(sh("cd " + up + " && git reset -q --hard " + a + " && git commit -q --allow-empty -m rewritten") == 0);
    auto c = (*src)->poll();
    REQUIRE(c);
    CHECK(c->commit != b->commit);
    REQUIRE((*src)->fetch(*c));
    CHECK_FALSE((*src)->is_descendant(c->commit, b->commit).value());
    CHECK((*src)->is_descendant(c->commit, a).value());
    CHECK((*src)->is_descendant(c->commit, std::string(40, 'f')).error().code == Errc::not_found);

    // keep/unkeep name refs the cache holds on to.
    REQUIRE((*src)->keep("7", b->commit));
    CHECK(out("git --git-dir=" + t.path + "/cache rev-parse refs/fjord/keep/7") == b->commit);
    REQUIRE((*src)->unkeep("7"));
    CHECK(out("git --git-dir=" + t.path + "/cache show-ref") .find("keep/7") == std::string::npos);
    CHECK((*src)->unkeep("7"));
    CHECK_FALSE((*src)->keep("a..b", b->commit));
}

TEST_CASE("GitSource: open refuses an unset url; errors never show a password") {
    TempDir t;
    CHECK(GitSource::open(cfg_for(""), t.path + "/cache").error().code == Errc::invalid);
    auto src = GitSource::open(cfg_for("https://user:s3cret@127.0.0.1:1/repo.git"), t.path + "/cache");
    REQUIRE(src);
    auto head = (*src)->poll();
    REQUIRE_FALSE(head);
    CHECK(head.error().code == Errc::network);
    CHECK(head.error().message.find("s3cret") == std::string::npos);
    CHECK(head.error().message.find("https://user:***@127.0.0.1:1/repo.git") != std::string::npos);
}

TEST_CASE("GitSource: lock files left by a killed fetch are cleared") {
    TempDir t;
    std::string up = make_upstream(t);
    auto src = GitSource::open(cfg_for(up), t.path + "/cache");
    REQUIRE(src);
    REQUIRE((*src)->fetch((*src)->poll().value()));
    REQUIRE(sh("cd " + up + " && git commit -q --allow-empty -m next") == 0);
    write(t.path + "/cache/refs/fjord/remote.lock", "");
    write(t.path + "/cache/refs/fjord/keep/3.lock", "");
    auto head = (*src)->poll();
    REQUIRE(head);
    CHECK_FALSE((*src)->fetch(*head)); // what a kill -9 mid-fetch would leave: every fetch fails
    REQUIRE((*src)->clear_stale_locks());
    CHECK_FALSE(fs::exists(t.path + "/cache/refs/fjord/remote.lock"));
    CHECK_FALSE(fs::exists(t.path + "/cache/refs/fjord/keep/3.lock"));
    CHECK((*src)->fetch(*head));
}

TEST_CASE("GitSource: a local repository owned by another user is refused with the reason") {
    if (::geteuid() != 0) return; // needs chown
    TempDir t;
    std::string up = make_upstream(t);
    REQUIRE(sh("chown -R nobody " + up) == 0);
    auto src = GitSource::open(cfg_for(up), t.path + "/cache");
    REQUIRE(src);
    auto head = (*src)->poll();
    REQUIRE_FALSE(head);
    CHECK(head.error().message.find("owned by another user") != std::string::npos);
}
