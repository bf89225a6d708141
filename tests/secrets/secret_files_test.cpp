// Secrets through fjord's layers: the identity file, rendering files/**.age, the generation
// (ciphertext id and keyed digest, never plaintext), apply decrypting again, drift by digest.
#include "../apply/test_support.hpp"
#include "apply/drift.hpp"
#include "apply/transaction.hpp"
#include "manifest/render.hpp"
#include "secrets/age.hpp"
#include "source/dir_tree.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace fjord;
using namespace fjord::test;

namespace {

unsigned mode_of(const std::string &path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string encrypt_to(const AgeIdentity &id, const std::string &plain, bool armor = false) {
    AgeRecipient r = id.recipient();
    auto c = age_encrypt(plain, std::span<const AgeRecipient>(&r, 1), armor);
    REQUIRE(c);
    return *c;
}

auto decryptor(const AgeIdentity &id) {
    return [&id](std::string_view ciphertext, const std::string &origin) -> Result<std::string> {
        auto p = age_decrypt(ciphertext, std::span<const AgeIdentity>(&id, 1));
        if (!p) return fail(std::move(p.error()).context(origin));
        return p;
    };
}

/// Every byte under `dir` (file contents and names) holds no copy of `needle`.
bool nowhere_in(const std::string &dir, const std::string &needle) {
    for (auto &e : std::filesystem::recursive_directory_iterator(dir)) {
        if (e.path().string().find(needle) != std::string::npos) return false;
        if (e.is_regular_file() && slurp(e.path()).find(needle) != std::string::npos) return false;
    }
    return true;
}

/// A host folder on disk with one secret and one plain file.
struct Repo {
    TempDir dir;
    AgeIdentity id = *AgeIdentity::generate();
    std::string plain = "DB_PASSWORD=correct-horse-battery-staple\n";
    std::string ciphertext = encrypt_to(id, plain);

    Repo() {
        spit(dir.path + "/hosts/web1/files/etc/app/db.env.age", ciphertext);
        spit(dir.path + "/hosts/web1/files/etc/app/app.conf", "port=80\n");
    }
    RenderOptions options(bool with_identity = true) const {
        RenderOptions o;
        o.host_path = "hosts/web1";
        if (with_identity) {
            o.decrypt = decryptor(id);
            o.secret_digest = [this](std::string_view p) { return id.digest(p); };
        }
        return o;
    }
    Result<DesiredState> render_it(const RenderOptions &o) const {
        auto tree = open_dir_tree(dir.path);
        REQUIRE(tree);
        return render(**tree, o);
    }
};

} // namespace

TEST_CASE("identity file: made once, 0600 in a 0700 folder, never replaced") {
    TempDir t;
    std::string path = t.path + "/state/age/identity";
    bool created = false;
    auto a = ensure_identity_file(path, &created);
    REQUIRE(a);
    CHECK(created);
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(t.path + "/state/age") == 0700);
    std::string text = slurp(path);
    CHECK(text.find("# public key: " + a->recipient().encode() + "\n") != std::string::npos);
    CHECK(text.find(a->encode() + "\n") != std::string::npos);

    auto b = ensure_identity_file(path, &created);
    REQUIRE(b);
    CHECK_FALSE(created);
    CHECK(b->encode() == a->encode());
    CHECK(slurp(path) == text);
    CHECK(std::filesystem::directory_iterator(t.path + "/state/age")->path() == path); // no temp file left
}

TEST_CASE("identity file: age-keygen's format loads; loose modes and junk are refused without quoting") {
    TempDir t;
    std::string path = t.path + "/identity";
    auto id = *AgeIdentity::generate();
    spit(path, "# created: 2024-01-01T00:00:00Z\n# public key: " + id.recipient().encode() + "\n" + id.encode() + "\n");
    ::chmod(path.c_str(), 0600);
    auto loaded = load_identity_file(path);
    REQUIRE(loaded);
    CHECK(loaded->encode() == id.encode());

    ::chmod(path.c_str(), 0644);
    auto loose = load_identity_file(path);
    REQUIRE_FALSE(loose);
    CHECK(loose.error().message.find("chmod 0600") != std::string::npos);
    CHECK_FALSE(ensure_identity_file(path)); // refused, and not replaced either
    CHECK(slurp(path).find(id.encode()) != std::string::npos);

    ::chmod(path.c_str(), 0600);
    spit(path, id.encode() + "\n" + id.encode() + "\n");
    CHECK(load_identity_file(path).error().message.find("more than one") != std::string::npos);
    spit(path, "hunter2-is-my-key\n");
    auto junk = load_identity_file(path);
    REQUIRE_FALSE(junk);
    CHECK(junk.error().message.find(":1: not an AGE-SECRET-KEY-1") != std::string::npos);
    CHECK(junk.error().message.find("hunter2") == std::string::npos);
    CHECK(load_identity_file(t.path + "/none").error().code == Errc::not_found);
}

TEST_CASE("the keyed digest depends on the identity and is no plain hash") {
    auto a = *AgeIdentity::generate(), b = *AgeIdentity::generate();
    std::string d = a.digest("secret");
    CHECK(d.size() == 64);
    CHECK(d == a.digest("secret"));
    CHECK(d != a.digest("secret2"));
    CHECK(d != b.digest("secret"));
    CHECK(d != "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"); // sha256("secret")
}

TEST_CASE("render: NAME.age becomes NAME, 0600, secret, ciphertext id, keyed digest") {
    Repo r;
    auto ds = r.render_it(r.options());
    REQUIRE(ds);
    REQUIRE(ds->files.count("/etc/app/db.env"));
    CHECK_FALSE(ds->files.count("/etc/app/db.env.age"));
    const FileSpec &f = ds->files.at("/etc/app/db.env");
    CHECK(f.secret);
    CHECK(f.mode == 0600);
    CHECK(f.id == blob_id(r.ciphertext));
    CHECK(f.secret_mac == r.id.digest(r.plain));
    CHECK(f.origin == "hosts/web1/files/etc/app/db.env.age");
    CHECK(ds->blobs.empty()); // no plaintext travels in the desired state
    CHECK_FALSE(ds->files.at("/etc/app/app.conf").secret);

    // The manifest may widen the mode; an executable secret defaults to 0700; armor works too.
    spit(r.dir.path + "/hosts/web1/fjord.toml", "[file.\"/etc/app/db.env\"]\nmode = \"0640\"\n");
    spit(r.dir.path + "/hosts/web1/files/usr/local/bin/tool.age", encrypt_to(r.id, "#!/bin/sh\n", true));
    ::chmod((r.dir.path + "/hosts/web1/files/usr/local/bin/tool.age").c_str(), 0755);
    ds = r.render_it(r.options());
    REQUIRE(ds);
    CHECK(ds->files.at("/etc/app/db.env").mode == 0640);
    CHECK(ds->files.at("/usr/local/bin/tool").mode == 0700);
}

TEST_CASE("render: a secret that does not open fails the render, naming the file") {
    Repo r;
    auto stranger = *AgeIdentity::generate();
    spit(r.dir.path + "/hosts/web1/files/etc/app/db.env.age", encrypt_to(stranger, r.plain));
    auto e = r.render_it(r.options());
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("hosts/web1/files/etc/app/db.env.age: not encrypted to this host") == 0);

    std::string tampered = r.ciphertext;
    tampered[tampered.size() - 3] ^= 0x20;
    spit(r.dir.path + "/hosts/web1/files/etc/app/db.env.age", tampered);
    e = r.render_it(r.options());
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("hosts/web1/files/etc/app/db.env.age: age payload") == 0);

    spit(r.dir.path + "/hosts/web1/files/etc/app/db.env.age", r.ciphertext.substr(0, r.ciphertext.size() / 2));
    CHECK_FALSE(r.render_it(r.options()));
    spit(r.dir.path + "/hosts/web1/files/etc/.age", r.ciphertext);
    e = r.render_it(r.options());
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("a secret needs a name before .age") != std::string::npos);
}

TEST_CASE("render without an identity takes secrets undecrypted (offline validate)") {
    Repo r;
    auto ds = r.render_it(r.options(false));
    REQUIRE(ds);
    const FileSpec &f = ds->files.at("/etc/app/db.env");
    CHECK(f.secret);
    CHECK(f.secret_mac.empty());
}

TEST_CASE("apply decrypts again; the state dir holds no plaintext; drift compares by digest") {
    Repo r;
    auto ds = r.render_it(r.options());
    REQUIRE(ds);
    ApplyHost h;
    h.blobs.add(r.ciphertext); // the Git cache: the ciphertext by its blob id
    h.blobs.add("port=80\n");
    h.ctx.decrypt = decryptor(r.id);

    auto plan = make_plan(*h.store.load(0), *ds, h.fs, {});
    REQUIRE(plan);
    CHECK(describe(*plan, *h.store.load(0)).find("+ /etc/app/db.env (secret changed)\n") != std::string::npos);
    plan->next.info.number = 1;
    REQUIRE(apply_plan(h.ctx, *h.store.load(0), *plan, *ds));
    CHECK(slurp(h.root.path + "/etc/app/db.env") == r.plain);
    CHECK(mode_of(h.root.path + "/etc/app/db.env") == 0600);
    CHECK(nowhere_in(h.state.path, "correct-horse"));
    // The generation's record (its chunks) keeps the keyed digest.
    CHECK_FALSE(nowhere_in(h.state.path + "/s/chunks", r.id.digest(r.plain)));

    Generation gen = *h.store.load(1);
    CHECK(gen.files.at("/etc/app/db.env").spec.secret_mac == r.id.digest(r.plain));
    SecretDigest digest = [&](std::string_view p) { return r.id.digest(p); };
    StatCache stamps;
    auto none = find_drift(h.fs, gen, stamps, digest);
    REQUIRE(none);
    CHECK(none->empty());

    spit(h.root.path + "/etc/app/db.env", "DB_PASSWORD=edited-by-hand\n");
    auto ev = find_drift(h.fs, gen, stamps, digest);
    REQUIRE(ev);
    REQUIRE(ev->size() == 1);
    CHECK(ev->at(0).what.find("content changed") == 0);
    CHECK(ev->at(0).what.find("edited") == std::string::npos);
    // Without the identity's digest, drift cannot judge a secret's content (mode and owner only).
    StatCache fresh;
    auto blind = find_drift(h.fs, gen, fresh, {});
    REQUIRE(blind);
    CHECK(blind->empty());

    REQUIRE(restore_paths(h.ctx, gen, {"/etc/app/db.env"}));
    CHECK(slurp(h.root.path + "/etc/app/db.env") == r.plain);
    CHECK(nowhere_in(h.state.path, "correct-horse"));
}

TEST_CASE("a secret re-encrypted with the same plaintext is no change; a new plaintext is") {
    Repo r;
    auto first = r.render_it(r.options());
    REQUIRE(first);
    Generation prev;
    for (const auto &[p, f] : first->files) prev.files.emplace(p, AppliedFile{f, {}});
    prev.dirs = {"/etc", "/etc/app"};

    spit(r.dir.path + "/hosts/web1/files/etc/app/db.env.age", encrypt_to(r.id, r.plain));
    auto same = r.render_it(r.options());
    REQUIRE(same);
    CHECK(same->files.at("/etc/app/db.env").id != first->files.at("/etc/app/db.env").id);
    TempDir root;
    RootedFs fs = *RootedFs::open(root.path);
    auto plan = make_plan(prev, *same, fs, {});
    REQUIRE(plan);
    CHECK(plan->empty());

    spit(r.dir.path + "/hosts/web1/files/etc/app/db.env.age", encrypt_to(r.id, "DB_PASSWORD=rotated\n", true));
    auto changed = r.render_it(r.options());
    REQUIRE(changed);
    plan = make_plan(prev, *changed, fs, {});
    REQUIRE(plan);
    std::string text = describe(*plan, prev);
    CHECK(text == "~ /etc/app/db.env (secret changed)\n");
}

TEST_CASE("apply refuses a secret it cannot decrypt, before touching the host") {
    Repo r;
    auto ds = r.render_it(r.options());
    REQUIRE(ds);
    ApplyHost h; // no decrypt
    h.blobs.add(r.ciphertext);
    h.blobs.add("port=80\n");
    auto plan = make_plan(*h.store.load(0), *ds, h.fs, {});
    REQUIRE(plan);
    plan->next.info.number = 1;
    auto res = apply_plan(h.ctx, *h.store.load(0), *plan, *ds);
    REQUIRE_FALSE(res);
    CHECK(res.error().message.find("no age identity to decrypt it") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(h.root.path + "/etc/app/db.env"));
    CHECK_FALSE(std::filesystem::exists(h.root.path + "/etc/app/app.conf"));
    CHECK(*h.store.current() == 0);
}

TEST_CASE("generation files keep a secret's digest, and refuse anything else in its place") {
    Generation g;
    FileSpec s;
    s.path = "/etc/x";
    s.id = std::string(40, 'a');
    s.secret = true;
    s.secret_mac = std::string(64, 'b');
    g.files.emplace(s.path, AppliedFile{s, {}});
    FileSpec plain = s;
    plain.path = "/etc/y";
    plain.secret = false;
    plain.secret_mac.clear();
    g.files.emplace(plain.path, AppliedFile{plain, {}});
    std::string text = serialize_files(g);
    Generation back;
    REQUIRE(parse_files(text, back, "t"));
    CHECK(back.files.at("/etc/x").spec == s);
    CHECK(back.files.at("/etc/y").spec == plain);

    std::string legacy = text;
    legacy.replace(legacy.find(std::string(64, 'b')), 64, "1");
    REQUIRE(parse_files(legacy, back, "t"));
    CHECK(back.files.at("/etc/x").spec.secret);
    CHECK(back.files.at("/etc/x").spec.secret_mac.empty());
    std::string bad = text;
    bad.replace(bad.find(std::string(64, 'b')), 64, "plaintext!");
    CHECK_FALSE(parse_files(bad, back, "t"));

    // An original kept sealed says so; an unknown marker is refused.
    AppliedFile af = g.files.at("/etc/x");
    af.orig = Original{true, FileKind::file, std::string(40, 'c'), "", 0600, 0, 0, true};
    g.files.insert_or_assign("/etc/x", af);
    REQUIRE(parse_files(serialize_files(g), back, "t"));
    CHECK(back.files.at("/etc/x").orig == af.orig);
    std::string odd = serialize_files(g);
    odd.replace(odd.find(",age"), 4, ",gpg");
    CHECK_FALSE(parse_files(odd, back, "t"));
}

TEST_CASE("an original adopted at a secret's path is stored sealed, and comes back when Git drops it") {
    Repo r;
    auto ds = r.render_it(r.options());
    REQUIRE(ds);
    ApplyHost h;
    spit(h.root.path + "/etc/app/db.env", "DB_PASSWORD=legacy-typed-on-the-host\n");
    h.blobs.add(r.ciphertext);
    h.blobs.add("port=80\n");
    h.ctx.decrypt = decryptor(r.id);

    // Without a way to seal it, the adoption is refused before anything changes.
    auto plan = make_plan(*h.store.load(0), *ds, h.fs, {});
    REQUIRE(plan);
    plan->next.info.number = 1;
    auto refused = apply_plan(h.ctx, *h.store.load(0), *plan, *ds);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("keep the original sealed") != std::string::npos);
    CHECK(slurp(h.root.path + "/etc/app/db.env") == "DB_PASSWORD=legacy-typed-on-the-host\n");

    h.ctx.seal = [&](std::string_view plain) {
        AgeRecipient self = r.id.recipient();
        return age_encrypt(plain, std::span<const AgeRecipient>(&self, 1), false);
    };
    plan = make_plan(*h.store.load(0), *ds, h.fs, {});
    REQUIRE(plan);
    plan->next.info.number = *h.store.next_number();
    REQUIRE(apply_plan(h.ctx, *h.store.load(0), *plan, *ds));
    CHECK(slurp(h.root.path + "/etc/app/db.env") == r.plain);
    CHECK(nowhere_in(h.state.path, "legacy-typed"));
    CHECK(nowhere_in(h.state.path, "correct-horse"));
    auto gen = *h.store.load(*h.store.current());
    CHECK(gen.files.at("/etc/app/db.env").orig.sealed);

    DesiredState without = *ds;
    without.files.erase("/etc/app/db.env");
    plan = make_plan(gen, without, h.fs, {});
    REQUIRE(plan);
    plan->next.info.number = *h.store.next_number();
    REQUIRE(apply_plan(h.ctx, gen, *plan, without));
    CHECK(slurp(h.root.path + "/etc/app/db.env") == "DB_PASSWORD=legacy-typed-on-the-host\n");
}

TEST_CASE("a failed transaction puts the previous secret back, decrypting its ciphertext again") {
    Repo r;
    auto first = r.render_it(r.options());
    REQUIRE(first);
    std::string rotated = encrypt_to(r.id, "DB_PASSWORD=rotated\n");
    spit(r.dir.path + "/hosts/web1/files/etc/app/db.env.age", rotated);
    auto second = r.render_it(r.options());
    REQUIRE(second);

    ApplyHost h;
    h.blobs.add(r.ciphertext);
    h.blobs.add(rotated);
    h.blobs.add("port=80\n");
    h.ctx.decrypt = decryptor(r.id);
    auto apply = [&](const DesiredState &d, const std::function<Status()> &verify) {
        auto prev = *h.store.load(*h.store.current());
        auto plan = h.plan(d);
        REQUIRE(plan);
        return apply_plan(h.ctx, prev, *plan, d, verify);
    };
    REQUIRE(apply(*first, {}));
    auto failed = apply(*second, [] { return Status(fail(Errc::invalid, "health check failed")); });
    REQUIRE_FALSE(failed);
    CHECK(slurp(h.root.path + "/etc/app/db.env") == r.plain);
    CHECK(*h.store.current() == 1);
    CHECK(nowhere_in(h.state.path, "correct-horse"));
    CHECK(nowhere_in(h.state.path, "rotated"));
}
