#include "apply/store.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"
#include <algorithm>
#include <array>
#include <charconv>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {
namespace {

bool valid_id(const std::string &id) {
    return id.size() == 40 && std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// The names in a folder, without exceptions (directory_iterator's range-for may throw).
std::vector<std::string> list_dir(const std::string &dir, std::error_code &ec) {
    std::vector<std::string> out;
    std::filesystem::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) out.push_back(it->path().filename().string());
    return out;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

} // namespace

Result<Store> Store::open(const std::string &dir) {
    if (dir.empty() || dir[0] != '/') return fail(Errc::invalid, "state.dir " + dir + ": must be an absolute path");
    for (const char *sub : {"", "/generations", "/objects", "/chunks"}) {
        if (auto r = mkdir_p(dir + sub, 0700); !r) return fail(r.error().context("state.dir"));
    }
    ::chmod(dir.c_str(), 0700);
    return Store(dir);
}

Result<Store> Store::open_existing(const std::string &dir) {
    struct stat st;
    if (::stat((dir + "/generations").c_str(), &st) < 0)
        return fail(Errc::not_found, "state.dir " + dir + ": no fjord state here (fjord never ran with this config)");
    return Store(dir);
}

Result<unique_fd> Store::lock() const { return lock_file(path("lock")); }

std::string Store::gen_dir(std::uint64_t n) const { return dir_ + "/generations/" + std::to_string(n); }

std::string Store::object_path(const std::string &id) const {
    return dir_ + "/objects/" + id.substr(0, 2) + "/" + id.substr(2);
}

Result<std::uint64_t> Store::current() const {
    auto text = read_file(path("current"), 64);
    if (!text) {
        if (::access(path("current").c_str(), F_OK) < 0 && errno == ENOENT) return 0;
        return fail(std::move(text.error()));
    }
    std::string s = trim(*text);
    std::uint64_t n = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size())
        return fail(Errc::invalid, path("current") + ": not a generation number");
    // Generations count from 1 and no generation at all is a missing file: a 0 in it is damage
    // (a flipped digit), which left so would make fjord start afresh over what it wrote.
    if (n == 0) return fail(Errc::invalid, path("current") + ": names generation 0, which fjord never writes");
    return n;
}

Status Store::set_current(std::uint64_t n) { return write_file_atomic(path("current"), std::to_string(n) + "\n", 0600); }

Result<std::uint64_t> Store::next_number() const {
    std::uint64_t max = 0;
    std::error_code ec;
    // "N.broken" folders (set_aside) count too: a number once used is never used again.
    for (const auto &name : list_dir(dir_ + "/generations", ec)) {
        std::uint64_t n = 0;
        auto r = std::from_chars(name.data(), name.data() + name.size(), n);
        if (r.ec == std::errc{} && (r.ptr == name.data() + name.size() || std::string_view(r.ptr).starts_with(".broken")))
            max = std::max(max, n);
    }
    if (ec) return fail_errno(dir_ + "/generations", ec.value());
    auto cur = current();
    if (!cur) return fail(std::move(cur.error()));
    return std::max(max, *cur) + 1;
}

namespace {

// A generation's record is written twice (NAME and NAME.copy, each sealed): one damaged or
// lost at rest, the other still tells what fjord applied. The first error is the one reported.
template <class T, class Parse>
Result<T> read_twice(const std::string &p, std::uint64_t max, Parse parse) {
    std::optional<Error> first;
    for (const std::string &file : {p, p + ".copy"}) {
        auto text = read_file(file, max);
        Result<T> r = text ? Result<T>(fail(Errc::internal, "")) : Result<T>(fail(std::move(text.error())));
        if (text) {
            auto body = unsealed(*text, file);
            r = body ? parse(*body, file) : Result<T>(fail(std::move(body.error())));
        }
        if (r) return r;
        if (!first) first = r.error();
    }
    // Both damaged at rest: bit rot rarely hits the same bytes of both, so the text they both
    // were is found from the two (checked against the seal).
    auto a = read_file(p, max), b = read_file(p + ".copy", max);
    if (a && b)
        if (auto mended = mend_sealed(*a, *b))
            if (auto r = parse(*unsealed(*mended, p), p)) return r;
    return fail(std::move(*first));
}

// A generation's files record as read: the whole text (written before issue 18) already
// parsed, or the index of the chunks that make it.
struct FilesRecord {
    std::optional<Generation> whole;
    ChunkIndex index;
};

Result<FilesRecord> read_files_record(const std::string &p) {
    return read_twice<FilesRecord>(p, 1ull << 32, [](std::string_view body, const std::string &where) -> Result<FilesRecord> {
        FilesRecord rec;
        if (is_chunk_index(body)) {
            auto index = parse_index(body, where);
            if (!index) return fail(std::move(index.error()));
            rec.index = std::move(*index);
            return rec;
        }
        rec.whole.emplace();
        if (auto r = parse_files(body, *rec.whole, where); !r) return fail(std::move(r.error()));
        return rec;
    });
}

// Writes sealed text to each of `paths` (all in one folder): tmp files, each fsynced, renamed,
// then one fsync of the folder for all of them.
Status write_copies(const std::vector<std::string> &paths, std::string_view data) {
    for (const auto &p : paths) {
        std::string tmp = p + ".tmp";
        unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!fd) return fail_errno(tmp);
        if (auto w = write_all(fd.get(), data, tmp); !w || ::fsync(fd.get()) < 0) {
            ::unlink(tmp.c_str());
            return w ? fail_errno("fsync " + tmp) : w;
        }
    }
    for (const auto &p : paths)
        if (::rename((p + ".tmp").c_str(), p.c_str()) < 0) return fail_errno("rename " + p + ".tmp");
    return fsync_dir(dirname_of(paths.front()));
}

// The objects a generation names, as 20-byte ids (prune collects one for every path of every
// kept generation: ~2 MB at 100,000 files, where a set of hex strings took ~11 MB).
using ObjectKey = std::array<unsigned char, 20>;
std::optional<ObjectKey> object_key(std::string_view id) {
    if (id.size() != 40) return std::nullopt;
    ObjectKey k{};
    for (std::size_t i = 0; i < 20; ++i) {
        unsigned v = 0;
        auto r = std::from_chars(id.data() + 2 * i, id.data() + 2 * i + 2, v, 16);
        if (r.ec != std::errc{} || r.ptr != id.data() + 2 * i + 2) return std::nullopt;
        k[i] = static_cast<unsigned char>(v);
    }
    return k;
}

void add_objects(const Generation &g, std::vector<ObjectKey> &out) {
    for (const auto &[p, af] : g.files) {
        if (af.orig.existed)
            if (auto k = object_key(af.orig.id)) out.push_back(*k);
        if (af.spec.kind == FileKind::file)
            if (auto k = object_key(af.spec.id)) out.push_back(*k);
    }
}

} // namespace

Result<GenerationInfo> Store::load_info(std::uint64_t n) const {
    return read_twice<GenerationInfo>(gen_dir(n) + "/info", 1 << 20, [](std::string_view body, const std::string &where) {
        return parse_info(body, where);
    });
}

Result<Generation> Store::load_files(std::uint64_t n) const { return files_of(n, true); }

Status Store::check(std::uint64_t n) const {
    if (n == 0) return {};
    if (auto info = load_info(n); !info) return fail(std::move(info.error()));
    if (auto g = files_of(n, false); !g) return fail(std::move(g.error()));
    return {};
}

Result<Generation> Store::files_of(std::uint64_t n, bool keep_paths) const {
    if (n == 0) return Generation{};
    const std::string where = gen_dir(n) + "/files";
    auto rec = read_files_record(where);
    if (!rec) return fail(std::move(rec.error()));
    Generation g;
    if (rec->whole) {
        g = std::move(*rec->whole);
    } else {
        // The chunks parsed where they are cached, never put together into one text.
        auto parts = chunks_.pieces(rec->index, where);
        if (!parts) return fail(std::move(parts.error()));
        parts->insert(parts->begin(), rec->index.header);
        auto r = parse_files(*parts, g, where, keep_paths);
        // At 100,000 files the record's text is ~14 MB beside its ~17 MB table: not kept.
        chunks_.bound(max_kept_chunks);
        if (!r) return fail(std::move(r.error()));
    }
    g.info.number = n;
    return g;
}

bool Store::heal(std::uint64_t n) {
    bool healed = false;
    for (const char *name : {"/info", "/files"}) {
        std::string p = gen_dir(n) + name;
        auto a = read_file(p, 1ull << 32), b = read_file(p + ".copy", 1ull << 32);
        bool a_ok = a && unsealed(*a, p) && a->starts_with("sealed "), b_ok = b && unsealed(*b, p) && b->starts_with("sealed ");
        if (!a_ok && !b_ok && a && b)
            if (auto mended = mend_sealed(*a, *b)) { // both damaged, in different bytes
                if (write_file_atomic(p, *mended, 0600) && write_file_atomic(p + ".copy", *mended, 0600)) healed = true;
                continue;
            }
        if (a_ok == b_ok) continue; // both sound, or nothing sound to heal from (written before copies)
        if (a_ok ? write_file_atomic(p + ".copy", *a, 0600) : write_file_atomic(p, *b, 0600)) healed = true;
    }
    // The chunks its index names: each is shared with other generations, so healing one heals
    // them all.
    if (auto rec = read_files_record(gen_dir(n) + "/files"); rec && !rec->whole)
        for (const auto &id : rec->index.ids()) healed = chunks_.heal(id) || healed;
    return healed;
}

Result<Generation> Store::load(std::uint64_t n) const {
    if (n == 0) return Generation{};
    auto info = load_info(n);
    if (!info) return fail(std::move(info.error()));
    auto g = load_files(n);
    if (!g) return fail(std::move(g.error()));
    g->info = *info;
    return g;
}

Result<std::vector<GenerationInfo>> Store::history() const {
    std::vector<GenerationInfo> out;
    std::error_code ec;
    for (const auto &name : list_dir(dir_ + "/generations", ec)) {
        std::uint64_t n = 0;
        auto r = std::from_chars(name.data(), name.data() + name.size(), n);
        if (r.ec != std::errc{} || r.ptr != name.data() + name.size()) continue;
        auto info = load_info(n);
        if (info) out.push_back(*info); // a generation whose info is unreadable is skipped, not fatal
    }
    if (ec) return fail_errno(dir_ + "/generations", ec.value());
    std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return a.number < b.number; });
    return out;
}

Result<std::vector<std::uint64_t>> Store::generation_numbers() const {
    std::vector<std::uint64_t> out;
    std::error_code ec;
    for (const auto &name : list_dir(dir_ + "/generations", ec)) {
        std::uint64_t n = 0;
        auto r = std::from_chars(name.data(), name.data() + name.size(), n);
        if (r.ec == std::errc{} && r.ptr == name.data() + name.size() && n > 0) out.push_back(n);
    }
    if (ec) return fail_errno(dir_ + "/generations", ec.value());
    std::sort(out.begin(), out.end());
    return out;
}

Status Store::set_aside(std::uint64_t n) {
    std::string to = gen_dir(n) + ".broken";
    for (int i = 2; ::access(to.c_str(), F_OK) == 0; ++i) to = gen_dir(n) + ".broken." + std::to_string(i);
    if (::rename(gen_dir(n).c_str(), to.c_str()) < 0) return fail_errno("move " + gen_dir(n) + " aside");
    return fsync_dir(dir_ + "/generations");
}

namespace {

// Removes a file of the state dir and makes that durable; nothing at all (no fsync) when it is
// not there, so that a run with nothing to do writes nothing.
Status remove_state_file(const std::string &dir, const std::string &p) {
    if (::unlink(p.c_str()) == 0) return fsync_dir(dir);
    return errno == ENOENT ? Status{} : Status(fail_errno("unlink " + p));
}

} // namespace

Status Store::clear_current() { return remove_state_file(dir_, path("current")); }

Status Store::check_kept(std::uint64_t n) const {
    // The folders, not history(): a generation whose info cannot be read is there, and load()
    // says what is wrong with it.
    auto numbers = generation_numbers();
    if (!numbers) return fail(std::move(numbers.error()));
    const std::vector<std::uint64_t> &kept = *numbers;
    if (std::binary_search(kept.begin(), kept.end(), n)) return {};
    std::string gen = "generation " + std::to_string(n);
    if (kept.empty()) return fail(Errc::not_found, gen + " does not exist (no generation is kept)");
    // Runs of consecutive numbers as "12-31"; a long list of gaps is cut ("..."): it is a hint.
    std::string runs;
    std::size_t shown = 0;
    for (std::size_t i = 0; i < kept.size();) {
        std::size_t j = i;
        while (j + 1 < kept.size() && kept[j + 1] == kept[j] + 1) ++j;
        if (++shown > 8) {
            runs += ", ...";
            break;
        }
        runs += (runs.empty() ? "" : ", ") + std::to_string(kept[i]) + (j > i ? "-" + std::to_string(kept[j]) : "");
        i = j + 1;
    }
    if (n > kept.back())
        return fail(Errc::not_found, gen + " does not exist (the newest is " + std::to_string(kept.back()) + "); kept: " + runs);
    return fail(Errc::not_found, gen + " is not kept (pruned); kept: " + runs);
}

Status Store::save(const Generation &g, std::size_t *chunks_written) {
    std::string d = gen_dir(g.info.number);
    if (::mkdir(d.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir " + d);
    // The chunks first, durable before the index that names them; those already stored (the
    // paths this commit did not change) cost a stat each.
    // Line by line into chunks, never the whole text at once.
    ChunkSplitter splitter([this](const std::string &id, std::size_t size) { return chunks_.stored(id, size); });
    Status fed;
    serialize_files(g, [&](std::string_view line) {
        if (fed) fed = splitter.line(line);
    });
    if (!fed) return fail(std::move(fed.error()));
    auto split = splitter.finish();
    if (!split) return fail(std::move(split.error()));
    FJORD_TRY(chunks_.put(split->chunks, chunks_written));
    chunks_.bound(max_kept_chunks); // a save writing most of a big record does not keep it all
    // Every chunk it names was there already: their names are made durable all the same, once.
    // A save whose chunk renames went through and whose folder fsync failed left them whole but
    // perhaps not durable, and the index about to name them must not be durable before they are.
    if (split->chunks.empty() && !split->index.ids().empty()) FJORD_TRY(chunks_.sync());
    std::string index = sealed(serialize_index(split->index)), info = sealed(serialize_info(g.info));
    FJORD_TRY(write_copies({d + "/files", d + "/files.copy"}, index));
    FJORD_TRY(write_copies({d + "/info", d + "/info.copy"}, info));
    return fsync_dir(dir_ + "/generations");
}

Status Store::save_info(const GenerationInfo &info) {
    return write_copies({gen_dir(info.number) + "/info", gen_dir(info.number) + "/info.copy"}, sealed(serialize_info(info)));
}

Status Store::prune(std::uint32_t keep, std::uint32_t every) {
    auto hist = history();
    if (!hist) return fail(std::move(hist.error()));
    auto cur = current();
    if (!cur) return fail(std::move(cur.error()));
    std::string pinned = flag("pinned");
    std::vector<std::uint64_t> drop;
    std::size_t excess = hist->size() > keep ? hist->size() - keep : 0;
    for (const auto &info : *hist) {
        if (drop.size() >= excess) break;
        if (info.number == *cur || std::to_string(info.number) == pinned) continue;
        drop.push_back(info.number);
    }
    if (drop.empty()) return {};
    std::error_code ec;
    for (auto n : drop) std::filesystem::remove_all(gen_dir(n), ec);
    // What the generations left use: their chunks, and the objects those chunks name (content,
    // so rollback, recovery and drift never depend on the Git cache, and adopted originals).
    // Each chunk is read once: O(paths) reads and CPU here, once for a prune, so that saving a
    // generation writes only what changed. A folder whose header is unreadable, or set aside
    // (N.broken), keeps what its record names when that can be read.
    std::set<std::string> live_chunks;
    std::vector<ObjectKey> live_objects;
    bool index_lost = false, chunk_lost = false; // a kept generation's record cannot be read
    for (const auto &name : list_dir(dir_ + "/generations", ec)) {
        std::uint64_t n = 0;
        auto r = std::from_chars(name.data(), name.data() + name.size(), n);
        if (r.ec != std::errc{} || n == 0) continue;
        bool kept = r.ptr == name.data() + name.size() &&
                    std::any_of(hist->begin(), hist->end(), [n](const auto &i) { return i.number == n; });
        auto rec = read_files_record(dir_ + "/generations/" + name + "/files");
        if (!rec) index_lost = index_lost || kept;
        else if (rec->whole) add_objects(*rec->whole, live_objects);
        else live_chunks.merge(rec->index.ids());
    }
    bool sweep = every <= 1 || std::any_of(drop.begin(), drop.end(), [every](std::uint64_t n) { return n % every == 0; });
    for (const auto &id : live_chunks) {
        if (!sweep) break;
        auto text = chunks_.get(id);
        chunks_.bound(max_kept_chunks); // read once here: a big record's chunks are not all kept
        Generation part;
        if (!text || !parse_files("fjord-files 2\n" + *text, part, chunks_.path(id))) chunk_lost = true;
        else add_objects(part, live_objects);
    }
    // While a kept generation's record cannot be read, every object it may need is kept: every
    // object when a chunk or an index is lost, every chunk when an index is.
    chunks_.remove_unused(live_chunks, index_lost);
    std::sort(live_objects.begin(), live_objects.end());
    live_objects.erase(std::unique(live_objects.begin(), live_objects.end()), live_objects.end());
    auto live = [&live_objects](const std::string &id) {
        auto k = object_key(id);
        return k && std::binary_search(live_objects.begin(), live_objects.end(), *k);
    };
    if (sweep && !index_lost && !chunk_lost)
        for (const auto &sub : list_dir(dir_ + "/objects", ec))
            for (const auto &obj : list_dir(dir_ + "/objects/" + sub, ec))
                if (!live(sub + obj)) std::filesystem::remove(dir_ + "/objects/" + sub + "/" + obj, ec);
    return fsync_dir(dir_ + "/generations");
}

Status Store::put_object(const std::string &id, std::string_view data, bool durable) {
    if (!valid_id(id)) return fail(Errc::internal, "bad object id " + id);
    std::string p = object_path(id);
    if (::access(p.c_str(), F_OK) == 0) return {};
    std::string d = dirname_of(p);
    if (::mkdir(d.c_str(), 0700) == 0) {
        if (durable) FJORD_TRY(fsync_dir(dir_ + "/objects"));
    } else if (errno != EEXIST) {
        return fail_errno("mkdir " + d);
    }
    if (durable) return write_file_atomic(p, data, 0600);
    std::string tmp = p + ".tmp";
    unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail_errno(tmp);
    if (auto w = write_all(fd.get(), data, tmp); !w) {
        ::unlink(tmp.c_str());
        return w;
    }
    fd.reset();
    if (::rename(tmp.c_str(), p.c_str()) < 0) {
        ::unlink(tmp.c_str());
        return fail_errno("rename " + tmp);
    }
    objects_dirty_ = true;
    return {};
}

Status Store::sync_objects() {
    if (!objects_dirty_) return {};
    unique_fd fd(::open((dir_ + "/objects").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_errno(dir_ + "/objects");
    // One syncfs for the whole transaction's objects: their data, inodes and folder entries.
    if (::syncfs(fd.get()) < 0) return fail_errno("syncfs " + dir_ + "/objects");
    objects_dirty_ = false;
    return {};
}

Result<std::string> Store::get_object(const std::string &id, std::uint64_t max) const {
    if (!valid_id(id)) return fail(Errc::not_found, "bad object id " + id);
    auto r = read_file(object_path(id), max);
    if (!r) return fail(Errc::not_found, "object " + id + " missing from " + dir_ + "/objects");
    // Objects are named by their content's id: one that does not match was damaged on disk.
    if (blob_id(*r) != id) {
        ::unlink(object_path(id).c_str()); // useless as it is; put_object() may store it again
        return fail(Errc::not_found, "object " + object_path(id) + " was damaged (its content did not match its id) and is removed");
    }
    return r;
}

bool Store::has_object(const std::string &id) const {
    return valid_id(id) && ::access(object_path(id).c_str(), F_OK) == 0;
}

Result<std::optional<Journal>> Store::journal() const {
    auto text = read_file(path("journal"), 1ull << 32);
    if (!text) {
        if (errno == ENOENT || ::access(path("journal").c_str(), F_OK) < 0) return std::optional<Journal>{};
        return fail(std::move(text.error()));
    }
    auto body = unsealed(*text, path("journal"));
    if (!body) return fail(std::move(body.error()));
    Journal j;
    bool header = false;
    for (auto line : split(*body, '\n')) {
        if (line.empty()) continue;
        if (!header) {
            if (line != "fjord-journal 1") return fail(Errc::corrupt, path("journal") + ": not a fjord journal");
            header = true;
            continue;
        }
        if (line == "end") continue;
        auto sp = line.find(' ');
        auto key = line.substr(0, sp);
        std::string val;
        if (sp == std::string_view::npos || !unesc(line.substr(sp + 1), val))
            return fail(Errc::corrupt, path("journal") + ": malformed line");
        auto number = [&](std::uint64_t &out) {
            auto r = std::from_chars(val.data(), val.data() + val.size(), out);
            return r.ec == std::errc{} && r.ptr == val.data() + val.size();
        };
        if (key == "from" || key == "to") {
            if (!number(key == "from" ? j.from : j.to)) return fail(Errc::corrupt, path("journal") + ": bad generation number");
        }
        else if (key == "purpose") j.purpose = val;
        else if (key == "p") j.paths.push_back(val);
    }
    // Journals are written whole (tmp, fsync, rename): one without its end marker, or with
    // lines after it, was damaged at rest, and what it named is not known.
    if (!header || !body->ends_with("\nend\n"))
        return fail(Errc::corrupt, path("journal") + ": cut short (no end marker)");
    return std::optional<Journal>{j};
}

Status Store::write_journal(const Journal &j) {
    // A journal still there belongs to an unfinished transaction: it must be recovered first,
    // never overwritten, or the paths it names would be forgotten.
    if (::access(path("journal").c_str(), F_OK) == 0)
        return fail(Errc::busy, path("journal") + ": an unfinished transaction must be recovered first");
    std::string out = "fjord-journal 1\nfrom " + std::to_string(j.from) + "\nto " + std::to_string(j.to) + "\npurpose " +
                      esc(j.purpose) + "\n";
    for (const auto &p : j.paths) out += "p " + esc(p) + "\n";
    out += "end\n";
    return write_file_atomic(path("journal"), sealed(out), 0600);
}

Status Store::remove_journal() { return remove_state_file(dir_, path("journal")); }

// One line a commit: "COMMIT" or "COMMIT WHY" (WHY escaped as generation files escape fields).
std::map<std::string, std::string> Store::bad_commits() const {
    std::map<std::string, std::string> out;
    auto text = read_file(path("bad"), 1 << 20);
    if (!text) return out;
    for (auto line : split(*text, '\n')) {
        if (line.empty()) continue;
        auto sp = line.find(' ');
        std::string why;
        if (sp != std::string_view::npos && !unesc(line.substr(sp + 1), why)) why.clear();
        out[std::string(line.substr(0, sp))] = why;
    }
    return out;
}

static Status write_bad(const Store &s, const std::map<std::string, std::string> &bad) {
    std::string out;
    for (const auto &[c, why] : bad) out += c + (why.empty() ? "" : " " + esc(why.substr(0, 2048))) + "\n";
    return write_file_atomic(s.path("bad"), out, 0600);
}

Status Store::mark_bad(const std::string &commit, const std::string &why) {
    auto bad = bad_commits();
    if (auto it = bad.find(commit); it != bad.end() && it->second == why) return {};
    bad[commit] = why;
    return write_bad(*this, bad);
}

Status Store::clear_bad(const std::string &commit) {
    auto bad = bad_commits();
    if (!bad.erase(commit)) return {};
    return write_bad(*this, bad);
}

Status Store::suspend() { return set_flag("suspended", "1"); }

Status Store::pin(std::uint64_t generation) { return set_flag("pinned", std::to_string(generation)); }

Status Store::resume() {
    for (const char *f : {"suspended", "pinned", "halted", "attempts"}) FJORD_TRY(clear_flag(f));
    return {};
}

std::string Store::flag(const std::string &name) const {
    auto text = read_file(path(name), 4096);
    return text ? trim(*text) : std::string{};
}

Status Store::set_flag(const std::string &name, const std::string &value) {
    return write_file_atomic(path(name), value + "\n", 0600);
}

Status Store::clear_flag(const std::string &name) { return remove_state_file(dir_, path(name)); }

std::string Store::applied_root() const {
    auto text = read_file(path("root"), 8192);
    if (!text) return {};
    auto body = unsealed(*text, path("root"));
    if (!body) return "(damaged)"; // no path: check_state drops it, fjordd writes apply.root again
    return trim(std::string(*body));
}

Status Store::set_applied_root(const std::string &root) { return write_file_atomic(path("root"), sealed(root + "\n"), 0600); }

StatCache Store::load_stat_cache() const {
    // One read of ~40 bytes a file. A lost or damaged cache only costs one hash of every file.
    auto bytes = read_file(path("statcache"), 1ull << 32);
    if (!bytes) return {};
    auto cache = StatCache::decode(*bytes);
    return cache ? std::move(*cache) : StatCache{};
}

Status Store::save_stat_cache(StatCache &cache) {
    if (!cache.changed()) return {};
    // A cache: no fsync. A crash may leave it empty or cut short; its seal tells, and losing it
    // costs one hash of every file on the next drift pass, nothing more.
    std::string tmp = path("statcache.tmp");
    {
        unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!fd) return fail_errno(tmp);
        FJORD_TRY(write_all(fd.get(), cache.encode(), tmp));
    }
    if (::rename(tmp.c_str(), path("statcache").c_str()) < 0) return fail_errno("rename " + tmp);
    cache.mark_saved();
    return {};
}

} // namespace fjord
