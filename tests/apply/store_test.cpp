#include "apply/store.hpp"
#include "test_support.hpp"
#include "util/hash.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <filesystem>
#include <map>
#include <sys/stat.h>

using namespace fjord;
using namespace fjord::test;

TEST_CASE("store: generations, current, history and pruning") {
    TempDir t;
    auto s = Store::open(t.path + "/state");
    REQUIRE(s);
    CHECK(*s->current() == 0);
    CHECK(*s->next_number() == 1);
    for (std::uint64_t n = 1; n <= 5; ++n) {
        Generation g;
        g.info = {n, "c" + std::to_string(n), 100 + std::int64_t(n), Outcome::good, ""};
        REQUIRE(s->save(g));
    }
    REQUIRE(s->set_current(2));
    CHECK(*s->current() == 2);
    CHECK(*s->next_number() == 6);
    REQUIRE(s->prune(2));
    auto h = s->history();
    REQUIRE(h);
    std::vector<std::uint64_t> left;
    for (auto &g : *h) left.push_back(g.number);
    CHECK(left == std::vector<std::uint64_t>{2, 5}); // current survives pruning
}

TEST_CASE("store: objects and a torn journal") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto id = blob_id("hello");
    REQUIRE(s.put_object(id, "hello"));
    CHECK(*s.get_object(id, 100) == "hello");
    CHECK_FALSE(s.get_object(blob_id("nope"), 100));

    Journal j{1, 2, "apply", {"/a b", "/c"}};
    REQUIRE(s.write_journal(j));
    auto back = s.journal();
    REQUIRE(back);
    REQUIRE(*back);
    CHECK((*back)->paths == j.paths);
    CHECK((*back)->to == 2);
    // Journals are written whole by rename: one cut short (or garbage) was damaged at rest,
    // and what it named is not known. It is reported as such, never taken for "no journal".
    spit(t.path + "/journal", "fjord-journal 1\nfrom 1\nto 2\np /a\n");
    back = s.journal();
    REQUIRE_FALSE(back);
    CHECK(back.error().code == Errc::corrupt);
    CHECK(back.error().message.find("cut short") != std::string::npos);
    spit(t.path + "/journal", "\x01\x02garbage");
    back = s.journal();
    REQUIRE_FALSE(back);
    CHECK(back.error().code == Errc::corrupt);
}

TEST_CASE("store: objects are checked against their id; lazy ones are made durable at once") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto id = blob_id("content");
    REQUIRE(s.put_object(id, "content", false));
    REQUIRE(s.sync_objects());
    CHECK(*s.get_object(id, 100) == "content");
    // Damaged on disk: refused as missing (so callers fall back to another copy), and removed
    // so that put_object can store it again.
    spit(t.path + "/objects/" + id.substr(0, 2) + "/" + id.substr(2), "contenT");
    auto bad = s.get_object(id, 100);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::not_found);
    CHECK(bad.error().message.find("damaged") != std::string::npos);
    CHECK_FALSE(s.has_object(id));
    REQUIRE(s.put_object(id, "content"));
    CHECK(*s.get_object(id, 100) == "content");
}

namespace {

// A generation of `paths` files (every tenth one a symlink, every seventh adopting an original),
// their folders, and units, checks, hooks and a container (checks and hooks in an order that is
// not sorted: it must be kept).
Generation many(std::uint64_t n, std::size_t paths, const std::string &salt = "") {
    Generation g;
    g.info = {n, "c" + std::to_string(n), 1, Outcome::good, ""};
    for (std::size_t i = 0; i < paths; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "/etc/app%02zu/file %04zu.conf", i / 20, i);
        FileSpec f;
        f.path = name;
        f.kind = i % 10 == 9 ? FileKind::symlink : FileKind::file;
        if (f.kind == FileKind::symlink) f.target = "../x";
        else f.id = blob_id(std::string(name) + salt);
        f.mode = 0644;
        Original o;
        if (i % 7 == 3) o = {true, FileKind::file, blob_id(std::string("orig ") + name), "", 0640, 0, 0};
        g.files.insert_or_assign(name, AppliedFile{f, o});
        g.dirs.insert(std::string(name).substr(0, 11));
    }
    UnitSpec u;
    u.name = "web.service";
    g.units[u.name] = u;
    for (const char *c : {"zeta", "alpha", "mid"}) {
        CheckSpec k;
        k.name = c;
        k.exec = {"true"};
        g.checks.push_back(k);
    }
    for (const char *w : {"post-apply", "pre-apply"}) g.hooks.push_back(HookSpec{w, {"echo", w}, 1000});
    AppliedContainer c;
    c.spec.name = "web";
    c.spec.image = "localhost/bb:1";
    c.image = "localhost/bb@sha256:" + std::string(64, 'a');
    g.containers["web"] = c;
    return g;
}

std::size_t count_files(const std::string &dir) {
    std::size_t n = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file();
    return n;
}

// The chunk ids generation n's index names, in its order (the meta chunk first).
std::vector<std::string> chunk_ids(const std::string &state, std::uint64_t n) {
    const std::string text = slurp(state + "/generations/" + std::to_string(n) + "/files");
    auto body = unsealed(text, "files");
    auto index = parse_index(*body, "files");
    REQUIRE(index);
    std::vector<std::string> out{index->meta};
    for (const auto &id : index->paths)
        if (!id.empty()) out.push_back(id);
    return out;
}

// The first chunk of generation n holding `needle`.
std::string chunk_with(const std::string &state, std::uint64_t n, const std::string &needle) {
    for (const auto &id : chunk_ids(state, n))
        if (!id.empty() && slurp(state + "/chunks/" + id).find(needle) != std::string::npos) return id;
    FAIL("no chunk holds " << needle);
    return {};
}

} // namespace

TEST_CASE("store: files text is cut into chunks of about 64 path lines that give it back byte for byte") {
    Generation g = many(1, 10'000);
    std::string text = serialize_files(g);
    auto split = split_files(text);
    REQUIRE(split);
    // 10,500 path lines (files and folders): about 164 chunks, the meta chunk apart.
    CHECK(split->index.paths.size() > 100);
    CHECK(split->index.paths.size() < 250);
    CHECK(split->chunks.size() == split->index.paths.size() + 1);
    std::map<std::string, std::string> by_id(split->chunks.begin(), split->chunks.end());
    std::string back = split->index.header + "\n";
    for (const auto &id : split->index.paths) {
        const std::string &c = by_id.at(id);
        CHECK(blob_id(c) == id);
        // Each chunk ends at a cut point (its last path hashes to one) or is the last.
        auto last = c.substr(c.rfind('\n', c.size() - 2) + 1);
        auto path = last.substr(2, last.find_first_of(" \n", 2) - 2);
        if (&id != &split->index.paths.back()) CHECK(ends_chunk(path));
        CHECK(std::count(c.begin(), c.end(), '\n') <= std::ptrdiff_t(max_chunk_lines));
        back += c;
    }
    back += by_id.at(split->index.meta);
    CHECK(back == text);
    // The meta chunk holds the units, checks, hooks and containers, in order.
    CHECK(by_id.at(split->index.meta).starts_with("U "));
    CHECK(by_id.at(split->index.meta).find("zeta") < by_id.at(split->index.meta).find("alpha"));

    // Paths chosen so that none is a cut point still make chunks of max_chunk_lines at most.
    Generation flat;
    for (std::size_t i = 0; flat.files.size() < 3000; ++i) {
        std::string p = "/x/" + std::to_string(i);
        if (ends_chunk(p)) continue;
        FileSpec f;
        f.path = p;
        f.id = blob_id(p);
        flat.files.insert_or_assign(p, AppliedFile{f, {}});
    }
    auto cut = split_files(serialize_files(flat));
    REQUIRE(cut);
    CHECK(cut->index.paths.size() == 3);
    CHECK(cut->index.meta.empty());
}

TEST_CASE("store: generations of 0, 1, 63, 64, 65 and 1000 paths round-trip through chunks") {
    TempDir t;
    auto s = *Store::open(t.path);
    std::uint64_t n = 0;
    for (std::size_t paths : {0, 1, 63, 64, 65, 1000}) {
        CAPTURE(paths);
        Generation g = many(++n, paths);
        REQUIRE(s.save(g));
        auto back = s.load(n);
        REQUIRE(back);
        CHECK(serialize_files(*back) == serialize_files(g));
        CHECK(back->files.size() == paths);
        CHECK(back->checks_kept);
        REQUIRE(back->checks.size() == 3);
        CHECK(back->checks[0].name == "zeta"); // the manifest's order, not sorted
        CHECK(back->checks[2].name == "mid");
        REQUIRE(back->hooks.size() == 2);
        CHECK(back->hooks[0].when == "post-apply");
        CHECK(back->containers.at("web").image == g.containers.at("web").image);
        CHECK(back->info.commit == g.info.commit);
        // The index is small: a line a chunk of about 64 paths, never a line a path.
        auto index = parse_index(*unsealed(slurp(t.path + "/generations/" + std::to_string(n) + "/files"), "f"), "f");
        REQUIRE(index);
        CHECK(index->paths.size() <= (paths + g.dirs.size()) / 16 + 1);
        CHECK(index->paths.empty() == (paths == 0));
        CHECK(slurp(t.path + "/generations/" + std::to_string(n) + "/files").size() < 200 + 43 * index->paths.size());
    }
    // An empty generation: no path chunk at all, its units and checks in the meta chunk.
    Generation empty;
    empty.info = {++n, "c", 1, Outcome::good, ""};
    REQUIRE(s.save(empty));
    auto back = s.load(n);
    REQUIRE(back);
    CHECK(back->files.empty());
    CHECK(back->checks.empty());
    CHECK(serialize_files(*back) == serialize_files(empty));
}

TEST_CASE("store: a one-path change writes one chunk, twice; the rest is shared and left alone") {
    TempDir t;
    auto s = *Store::open(t.path);
    std::size_t written = 0;
    Generation g1 = many(1, 1000);
    REQUIRE(s.save(g1, &written));
    const std::size_t chunks = chunk_ids(t.path, 1).size(); // 1050 path lines: about 16 chunks, and the meta chunk
    CHECK(chunks > 8);
    CHECK(chunks < 40);
    CHECK(written == 2 * chunks);
    CHECK(count_files(t.path + "/chunks") == 2 * chunks);
    std::map<std::string, ino_t> inodes;
    for (const auto &e : std::filesystem::directory_iterator(t.path + "/chunks"))
        inodes[e.path().filename()] = std::filesystem::status(e.path()).type() == std::filesystem::file_type::regular ? [&] {
            struct stat st;
            ::stat(e.path().c_str(), &st);
            return st.st_ino;
        }() : 0;

    Generation g2 = g1;
    g2.info.number = 2;
    auto changed = g2.files.at("/etc/app10/file 0200.conf");
    changed.spec.id = blob_id("changed");
    g2.files.insert_or_assign(changed.spec.path, changed);
    written = 0;
    REQUIRE(s.save(g2, &written));
    CHECK(written == 2); // the changed path's chunk and its copy
    CHECK(count_files(t.path + "/chunks") == 2 * chunks + 2);
    auto a = chunk_ids(t.path, 1), b = chunk_ids(t.path, 2);
    REQUIRE(a.size() == b.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
    CHECK(differ == 1);
    for (const auto &[name, ino] : inodes) {
        struct stat st;
        REQUIRE(::stat((t.path + "/chunks/" + name).c_str(), &st) == 0);
        CHECK(st.st_ino == ino); // not rewritten
    }
    CHECK(s.load(2)->files.at("/etc/app10/file 0200.conf").spec.id == blob_id("changed"));
    CHECK(s.load(1)->files.at("/etc/app10/file 0200.conf").spec.id == g1.files.at("/etc/app10/file 0200.conf").spec.id);

    // The same record again (a rollback to it, a refused commit): no chunk is written.
    Generation g3 = g1;
    g3.info.number = 3;
    written = 0;
    REQUIRE(s.save(g3, &written));
    CHECK(written == 0);
    // A changed check: only the meta chunk.
    g3.info.number = 4;
    g3.checks[1].name = "beta";
    REQUIRE(s.save(g3, &written));
    CHECK(written == 2);
    CHECK(chunk_ids(t.path, 4)[0] != chunk_ids(t.path, 3)[0]);
}

TEST_CASE("store: a path added writes two chunks at most, a path removed one; a thousand added, a few dozen") {
    TempDir t;
    auto s = *Store::open(t.path);
    Generation g = many(1, 2000);
    REQUIRE(s.save(g));
    std::uint64_t n = 1;
    auto save = [&](Generation next) {
        next.info.number = ++n;
        std::size_t written = 0;
        REQUIRE(s.save(next, &written));
        CHECK(serialize_files(*s.load(n)) == serialize_files(next));
        return written;
    };
    // Added and removed in the middle, where the path sorts, and at the end, for a few paths
    // each (some of them cut points, some not).
    for (const char *p : {"/etc/app50/a.conf", "/etc/app10/file 0200b.conf", "/etc/zz", "/etc/app00/0", "/srv/1", "/srv/2"}) {
        CAPTURE(p);
        Generation more = g;
        FileSpec f;
        f.path = p;
        f.id = blob_id(p);
        more.files.insert_or_assign(p, AppliedFile{f, {}});
        CHECK(save(more) <= 4);
    }
    for (std::size_t i : {0, 7, 500, 1999}) {
        CAPTURE(i);
        Generation fewer = g;
        fewer.files.erase(std::string(std::next(fewer.files.begin(), std::ptrdiff_t(i)).path()));
        CHECK(save(fewer) <= 2);
    }
    Generation grown = g;
    for (int i = 0; i < 1000; ++i) {
        std::string p = "/opt/new/" + std::to_string(i);
        FileSpec f;
        f.path = p;
        f.id = blob_id(p);
        grown.files.insert_or_assign(p, AppliedFile{f, {}});
    }
    std::size_t written = save(grown);
    CHECK(written >= 2 * 10);
    CHECK(written <= 2 * 30); // the new paths' chunks; the 2000 others' stay
}

TEST_CASE("store: a damaged or missing copy of a chunk is read from the other, and healed") {
    for (const char *fault : {"delete", "truncate", "garbage", "flip"}) {
        for (const char *which : {"", ".copy"}) {
            CAPTURE(fault);
            CAPTURE(which);
            TempDir t;
            auto s = *Store::open(t.path);
            Generation g = many(5, 300);
            REQUIRE(s.save(g));
            std::string id = chunk_with(t.path, 5, "file%200150.conf");
            std::string p = t.path + "/chunks/" + id + which, intact = slurp(p);
            std::string f = fault;
            if (f == "delete") std::filesystem::remove(p);
            else if (f == "truncate") spit(p, intact.substr(0, intact.size() / 2));
            else if (f == "garbage") spit(p, std::string(intact.size(), 'x'));
            else {
                std::string d = intact;
                d[d.size() / 2] ^= 0x10;
                spit(p, d);
            }
            s = *Store::open(t.path); // damage at rest is met by the next run, which reads the disk
            auto back = s.load(5);
            REQUIRE(back);
            CHECK(serialize_files(*back) == serialize_files(g));
            CHECK(s.heal(5));
            CHECK(slurp(t.path + "/chunks/" + id) == intact);
            CHECK(slurp(t.path + "/chunks/" + id + ".copy") == intact);
            CHECK_FALSE(s.heal(5)); // nothing left to heal
            // A later generation with that chunk writes a lost copy again by itself.
            std::filesystem::remove(p);
            g.info.number = 6;
            std::size_t written = 0;
            REQUIRE(s.save(g, &written));
            CHECK(written == 1);
            CHECK(slurp(p) == intact);
        }
    }
}

TEST_CASE("store: both copies of a chunk damaged: mended when in other bytes, else the load names the chunk") {
    TempDir t;
    auto s = *Store::open(t.path);
    Generation g = many(3, 200);
    REQUIRE(s.save(g));
    std::string id = chunk_with(t.path, 3, "file%200042.conf");
    std::string p = t.path + "/chunks/" + id, intact = slurp(p);
    std::string a = intact, b = intact;
    a[a.find("0042")] ^= 0x04;
    b[b.size() - 3] ^= 0x40;
    b[10] ^= 0x01;
    spit(p, a);
    spit(p + ".copy", b);
    s = *Store::open(t.path);
    auto back = s.load(3);
    REQUIRE(back);
    CHECK(serialize_files(*back) == serialize_files(g));
    CHECK(s.heal(3));
    CHECK(slurp(p) == intact);
    CHECK(slurp(p + ".copy") == intact);

    // The same byte flipped in both: nothing tells which is right.
    a = intact;
    b = intact;
    a[a.find("0042")] ^= 0x04;
    b[b.find("0042")] ^= 0x08;
    spit(p, a);
    spit(p + ".copy", b);
    s = *Store::open(t.path);
    auto bad = s.load_files(3);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::corrupt);
    CHECK(bad.error().message.find(t.path + "/generations/3/files") != std::string::npos);
    CHECK(bad.error().message.find("chunks/" + id) != std::string::npos);
    CHECK_FALSE(s.heal(3));
    // Both lost.
    std::filesystem::remove(p);
    std::filesystem::remove(p + ".copy");
    s = *Store::open(t.path);
    bad = s.load(3);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("chunks/" + id + ": missing, and its copy") != std::string::npos);
}

TEST_CASE("store: check() gives the error load() gives, and none for a sound generation") {
    TempDir t;
    auto s = *Store::open(t.path);
    REQUIRE(s.save(many(4, 300)));
    REQUIRE(s.save(many(5, 300)));
    CHECK(s.check(4));
    CHECK(s.check(0));
    std::string id = chunk_with(t.path, 4, "file%200042.conf");
    // Each damage load() names, check() names the same way.
    for (int damage = 0; damage < 3; ++damage) {
        CAPTURE(damage);
        s = *Store::open(t.path);
        if (damage == 0) std::filesystem::remove(t.path + "/generations/5/info"), std::filesystem::remove(t.path + "/generations/5/info.copy");
        if (damage == 1) std::filesystem::remove(t.path + "/chunks/" + id), std::filesystem::remove(t.path + "/chunks/" + id + ".copy");
        if (damage == 2) spit(t.path + "/generations/4/info", "garbage"), spit(t.path + "/generations/4/info.copy", "garbage");
        std::uint64_t n = damage == 0 ? 5 : 4;
        auto loaded = s.load(n);
        auto checked = s.check(n);
        REQUIRE_FALSE(loaded);
        REQUIRE_FALSE(checked);
        CHECK(checked.error().message == loaded.error().message);
        CHECK(checked.error().code == loaded.error().code);
    }
}

TEST_CASE("store: a save copies only the chunks not stored yet") {
    TempDir t;
    auto s = *Store::open(t.path);
    Generation g = many(1, 5'000);
    REQUIRE(s.save(g));
    ChunkDir dir(t.path + "/chunks");
    auto it = g.files.begin();
    std::advance(it, 2'500);
    auto changed = it->second;
    changed.spec.id = blob_id("changed");
    g.files.insert_or_assign(changed.spec.path, changed);
    std::string text = serialize_files(g);
    auto all = split_files(text);
    auto fresh = split_files(text, [&](const std::string &id, std::size_t size) { return dir.stored(id, size); });
    REQUIRE(all);
    REQUIRE(fresh);
    CHECK(fresh->index.paths == all->index.paths);
    CHECK(fresh->index.meta == all->index.meta);
    REQUIRE(fresh->chunks.size() == 1); // the chunk of the changed path
    CHECK(fresh->chunks[0].second.find(blob_id("changed")) != std::string::npos);
    // A chunk with one copy lost is not stored: its content is copied, so put() writes it again.
    std::filesystem::remove(t.path + "/chunks/" + all->index.paths[0] + ".copy");
    auto again = split_files(text, [&](const std::string &id, std::size_t size) { return dir.stored(id, size); });
    REQUIRE(again);
    CHECK(again->chunks.size() == 2);
}

TEST_CASE("store: the files index damaged in both copies, in different bytes, is read and healed") {
    TempDir t;
    auto s = *Store::open(t.path);
    REQUIRE(s.save(many(3, 200)));
    std::string files = t.path + "/generations/3/files", intact = slurp(files);
    std::string a = intact, b = intact;
    a[a.find("\np ") + 10] ^= 0x04;
    b[b.rfind("\np ") + 12] ^= 0x01;
    b[50] ^= 0x01;
    spit(files, a);
    spit(files + ".copy", b);
    auto back = s.load_files(3);
    REQUIRE(back);
    CHECK(back->files.size() == 200);
    CHECK(s.heal(3));
    CHECK(slurp(files) == intact);
    CHECK(slurp(files + ".copy") == intact);
    a = intact;
    b = intact;
    a[a.find("\np ") + 10] ^= 0x04;
    b[b.find("\np ") + 10] ^= 0x08;
    spit(files, a);
    spit(files + ".copy", b);
    auto bad = s.load_files(3);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::corrupt);
}

TEST_CASE("store: prune removes the chunks and objects no kept generation uses, and keeps shared ones") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto keep = blob_id("kept"), gone = blob_id("gone"), orig = blob_id("orig");
    for (const auto &[id, data] : {std::pair{keep, "kept"}, {gone, "gone"}, {orig, "orig"}}) REQUIRE(s.put_object(id, data));
    for (std::uint64_t n = 1; n <= 3; ++n) {
        Generation g = many(n, 130); // 4 buckets
        FileSpec f;
        f.path = "/etc/x";
        f.id = n == 1 ? gone : keep;
        g.files.insert_or_assign("/etc/x", AppliedFile{f, n == 3 ? Original{true, FileKind::file, orig, "", 0644, 0, 0} : Original{}});
        REQUIRE(s.save(g));
    }
    REQUIRE(s.set_current(3));
    std::string only1 = chunk_with(t.path, 1, "/etc/x "), shared = chunk_with(t.path, 1, "file%200042.conf");
    CHECK(chunk_with(t.path, 3, "file%200042.conf") == shared);
    CHECK(only1 != chunk_with(t.path, 2, "/etc/x "));
    const auto before = count_files(t.path + "/chunks");
    spit(t.path + "/chunks/" + only1 + ".tmp", "a save cut short");
    REQUIRE(s.prune(2));
    CHECK(count_files(t.path + "/chunks") == before - 2);
    CHECK_FALSE(std::filesystem::exists(t.path + "/chunks/" + only1));
    CHECK_FALSE(std::filesystem::exists(t.path + "/chunks/" + only1 + ".copy"));
    CHECK_FALSE(std::filesystem::exists(t.path + "/chunks/" + only1 + ".tmp"));
    CHECK(std::filesystem::exists(t.path + "/chunks/" + shared));
    CHECK(std::filesystem::exists(t.path + "/chunks/" + shared + ".copy"));
    CHECK(s.has_object(keep));
    CHECK(s.has_object(orig)); // an adopted original, named in a chunk only generation 3 uses
    CHECK_FALSE(s.has_object(gone)); // only generation 1, pruned, needed it
    REQUIRE(s.load(2));
    REQUIRE(s.load(3));
}

TEST_CASE("store: prune sweeps unused objects only when a generation numbered a multiple of `every` goes") {
    TempDir t;
    auto s = *Store::open(t.path);
    std::vector<std::string> ids;
    for (std::uint64_t n = 1; n <= 6; ++n) {
        ids.push_back(blob_id("v" + std::to_string(n)));
        REQUIRE(s.put_object(ids.back(), "v" + std::to_string(n)));
        Generation g;
        g.info.number = n;
        g.info.outcome = Outcome::good;
        FileSpec f;
        f.path = "/etc/x";
        f.id = ids.back();
        g.files.emplace(f.path, AppliedFile{f, {}});
        REQUIRE(s.save(g));
        REQUIRE(s.set_current(n));
        REQUIRE(s.prune(2, 3)); // from generation 3 on, one goes at each save
        CHECK(s.has_object(ids.back()));
    }
    // Generations 1-4 went; only 3 is a multiple of 3: its prune swept the content of 1, 2 and 3
    // (4's stays until the next sweep), and the chunks of every pruned generation are gone.
    CHECK_FALSE(s.has_object(ids[0]));
    CHECK_FALSE(s.has_object(ids[1]));
    CHECK_FALSE(s.has_object(ids[2]));
    CHECK(s.has_object(ids[3]));
    CHECK(s.has_object(ids[4]));
    CHECK(s.has_object(ids[5]));
    CHECK(count_files(t.path + "/chunks") == 2 * 2); // generations 5 and 6: a chunk each, twice
}

TEST_CASE("store: while a kept generation's record cannot be read, prune removes no chunk or object it may need") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto gone = blob_id("gone");
    REQUIRE(s.put_object(gone, "gone"));
    for (std::uint64_t n = 1; n <= 4; ++n) {
        Generation g = many(n, 70, std::to_string(n)); // every chunk its own
        FileSpec f;
        f.path = "/etc/x";
        f.id = gone;
        if (n == 1) g.files.insert_or_assign("/etc/x", AppliedFile{f, {}});
        REQUIRE(s.save(g));
    }
    REQUIRE(s.set_current(4));
    std::string of2 = chunk_with(t.path, 2, "file%200042.conf");
    // Generation 3's chunk lost (both copies): the objects it names are unknown, all are kept.
    std::string of3 = chunk_with(t.path, 3, "file%200042.conf");
    std::filesystem::remove(t.path + "/chunks/" + of3);
    std::filesystem::remove(t.path + "/chunks/" + of3 + ".copy");
    s = *Store::open(t.path);
    REQUIRE(s.prune(3));
    CHECK(s.has_object(gone));
    CHECK(std::filesystem::exists(t.path + "/chunks/" + of2));
    // Generation 3's index lost too: its chunks are unknown, every chunk is kept.
    spit(t.path + "/generations/3/files", "garbage");
    spit(t.path + "/generations/3/files.copy", "garbage");
    s = *Store::open(t.path);
    REQUIRE(s.prune(2)); // drops 2
    CHECK(std::filesystem::exists(t.path + "/chunks/" + of2));
    CHECK(s.has_object(gone));
}

TEST_CASE("store: generations written whole (before chunks) still load, heal, and keep their objects") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto used = blob_id("used");
    REQUIRE(s.put_object(used, "used"));
    Generation old = many(1, 100);
    FileSpec f;
    f.path = "/etc/old";
    f.id = used;
    old.files.insert_or_assign("/etc/old", AppliedFile{f, {}});
    // As fjord wrote it before: the whole text, sealed, twice, and the objects list.
    std::filesystem::create_directories(t.path + "/generations/1");
    std::string text = sealed(serialize_files(old));
    spit(t.path + "/generations/1/files", text);
    spit(t.path + "/generations/1/files.copy", "garbage");
    spit(t.path + "/generations/1/objects", used + "\n");
    REQUIRE(s.save_info(old.info));
    REQUIRE(s.set_current(1));
    auto back = s.load(1);
    REQUIRE(back);
    CHECK(serialize_files(*back) == serialize_files(old));
    CHECK(s.heal(1));
    CHECK(slurp(t.path + "/generations/1/files.copy") == text);
    // The next generation is chunked; rollback to the old one and pruning still work.
    Generation next = many(2, 100);
    REQUIRE(s.save(next));
    REQUIRE(s.set_current(2));
    CHECK(is_chunk_index(*unsealed(slurp(t.path + "/generations/2/files"), "f")));
    REQUIRE(s.prune(5));
    REQUIRE(s.prune(2));
    CHECK(s.has_object(used));
    CHECK(serialize_files(*s.load(1)) == serialize_files(old));
}

TEST_CASE("store: a record over max_kept_chunks is not kept in memory once read") {
    TempDir t;
    auto s = *Store::open(t.path);
    Generation g = many(1, 60'000);
    REQUIRE(serialize_files(g).size() > max_kept_chunks);
    REQUIRE(s.save(g));
    REQUIRE(s.load(1));
    // Its chunks are read from disk again (a small record's are not: the test below): a chunk
    // lost meanwhile is found missing, not served from memory.
    std::string id = chunk_with(t.path, 1, "file%200042.conf");
    std::filesystem::remove(t.path + "/chunks/" + id);
    std::filesystem::remove(t.path + "/chunks/" + id + ".copy");
    auto again = s.load(1);
    REQUIRE_FALSE(again);
    CHECK(again.error().message.find(id) != std::string::npos);
}

TEST_CASE("store: a run reads each chunk once; damage at rest is met by the next run, which reads the disk") {
    TempDir t;
    auto s = *Store::open(t.path);
    Generation g = many(1, 500);
    REQUIRE(s.save(g));
    std::string id = chunk_with(t.path, 1, "file%200042.conf");
    REQUIRE(s.load(1));
    // Lost while this Store runs: the content it read (checked) or wrote is the right one still.
    std::filesystem::remove(t.path + "/chunks/" + id);
    std::filesystem::remove(t.path + "/chunks/" + id + ".copy");
    CHECK(serialize_files(*s.load(1)) == serialize_files(g));
    // A later generation with that chunk writes both copies again.
    g.info.number = 2;
    std::size_t written = 0;
    REQUIRE(s.save(g, &written));
    CHECK(written == 2);
    std::filesystem::remove(t.path + "/chunks/" + id);
    std::filesystem::remove(t.path + "/chunks/" + id + ".copy");
    auto next = *Store::open(t.path);
    auto bad = next.load(2);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("chunks/" + id) != std::string::npos);
    // heal() always reads the disk.
    CHECK_FALSE(s.heal(2));
}

TEST_CASE("store: a state dir from before chunks gets its chunks folder at the first save") {
    TempDir t;
    auto s = *Store::open(t.path);
    std::filesystem::remove_all(t.path + "/chunks");
    REQUIRE(s.save(many(1, 10)));
    CHECK(serialize_files(*s.load(1)) == serialize_files(many(1, 10)));
}

TEST_CASE("store: generation numbers, set aside, never reused") {
    TempDir t;
    auto s = *Store::open(t.path);
    for (std::uint64_t n = 1; n <= 3; ++n) {
        Generation g;
        g.info = {n, "c", 1, Outcome::good, ""};
        REQUIRE(s.save(g));
    }
    REQUIRE(s.set_aside(3));
    CHECK(*s.generation_numbers() == std::vector<std::uint64_t>{1, 2});
    CHECK(*s.next_number() == 4);
    REQUIRE(s.set_current(2));
    REQUIRE(s.clear_current());
    CHECK(*s.current() == 0);
}

TEST_CASE("store: flags and bad commits") {
    TempDir t;
    auto s = *Store::open(t.path);
    CHECK(s.flag("suspended").empty());
    REQUIRE(s.set_flag("suspended", "1"));
    CHECK(s.flag("suspended") == "1");
    REQUIRE(s.clear_flag("suspended"));
    CHECK(s.flag("suspended").empty());
    REQUIRE(s.mark_bad("abc"));
    CHECK(s.bad_commits().count("abc"));
    REQUIRE(s.mark_bad("def", "check web failed: status 404, body\nwith lines"));
    CHECK(s.bad_commits().at("def") == "check web failed: status 404, body\nwith lines");
    REQUIRE(s.clear_bad("def"));
    REQUIRE(s.clear_bad("abc"));
    CHECK(s.bad_commits().empty());
}

TEST_CASE("store: suspend, pin and resume") {
    TempDir t;
    auto s = *Store::open(t.path);
    REQUIRE(s.suspend());
    CHECK(s.flag("suspended") == "1");
    REQUIRE(s.pin(3));
    CHECK(s.flag("pinned") == "3");
    REQUIRE(s.resume()); // lifts both
    CHECK(s.flag("suspended").empty());
    CHECK(s.flag("pinned").empty());
}

TEST_CASE("store: check_kept names the generations that are kept") {
    TempDir t;
    auto s = *Store::open(t.path);
    auto why = [&](std::uint64_t n) {
        auto k = s.check_kept(n);
        if (k) return std::string("kept");
        CHECK(k.error().code == Errc::not_found);
        return k.error().message;
    };
    CHECK(why(1) == "generation 1 does not exist (no generation is kept)");
    for (std::uint64_t n : {3, 12, 13, 14, 15, 31, 30, 29}) {
        Generation g;
        g.info = {n, "c", 100, Outcome::good, ""};
        REQUIRE(s.save(g));
    }
    CHECK(why(12) == "kept");
    CHECK(why(3) == "kept");
    CHECK(why(7) == "generation 7 is not kept (pruned); kept: 3, 12-15, 29-31");
    CHECK(why(1) == "generation 1 is not kept (pruned); kept: 3, 12-15, 29-31");
    CHECK(why(40) == "generation 40 does not exist (the newest is 31); kept: 3, 12-15, 29-31");
    // A generation whose header is unreadable is kept: load() says what is wrong with it.
    spit(t.path + "/generations/13/info", "garbage");
    CHECK(why(13) == "kept");
}
