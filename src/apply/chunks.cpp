#include "apply/chunks.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/unique_fd.hpp"
#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {
namespace {

constexpr std::uint64_t max_chunk = 1ull << 32;
constexpr std::size_t max_index_chunks = 1u << 24;
constexpr std::string_view index_tag = "fjord-index 1\n";

// The hash that places the cuts. A change here costs one rewrite of every chunk, nothing more.
std::uint64_t path_hash(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull; // FNV-1a
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    // MurmurHash3's finaliser: FNV's low bits, the ones the cut looks at, mix poorly.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

// The path field of an f, l or d line, or nullopt for the other (meta) lines.
std::optional<std::string_view> path_field(std::string_view line) {
    if (line.size() < 3 || line[1] != ' ' || (line[0] != 'f' && line[0] != 'l' && line[0] != 'd')) return std::nullopt;
    auto end = line.find(' ', 2);
    return line.substr(2, end == std::string_view::npos ? std::string_view::npos : end - 2);
}

bool valid_chunk_id(std::string_view id) {
    return id.size() == 40 && std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A chunk file whole: open, fstat, read, close. Unlike read_file, no read past the size fstat
// gave: a load reads hundreds of chunks, and system calls are what they cost.
Result<std::string> read_chunk_file(const std::string &path) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return fail_errno(path);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_errno(path);
    if (static_cast<std::uint64_t>(st.st_size) > max_chunk) return fail(Errc::invalid, path + ": too large for a chunk");
    std::string out(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno(path);
        if (n == 0) break; // cut short meanwhile: the id check tells
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

// A regular file of `size` bytes is at p (not followed if a symlink).
bool whole_file(const std::string &p, std::size_t size) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) == size;
}

// "sealed ID\n" before a chunk makes it a sealed text, so that two copies damaged in other
// bytes can be mended by mend_sealed like the sealed records.
std::string as_sealed(const std::string &id, std::string_view data) {
    std::string out = "sealed " + id + "\n";
    out.append(data);
    return out;
}

} // namespace

std::set<std::string> ChunkIndex::ids() const {
    std::set<std::string> out;
    if (!meta.empty()) out.insert(meta);
    out.insert(paths.begin(), paths.end());
    return out;
}

bool ends_chunk(std::string_view escaped_path) { return (path_hash(escaped_path) & 63) == 0; }

ChunkSplitter::ChunkSplitter(ChunkStored stored) : stored_(std::move(stored)) {}

std::string ChunkSplitter::add(std::string &&content) {
    if (content.empty()) return {};
    std::string id = blob_id(content);
    if (!stored_ || !stored_(id, content.size())) out_.chunks.emplace_back(id, std::move(content));
    return id;
}

Status ChunkSplitter::line(std::string_view line) {
    if (!header_) {
        if (!line.starts_with("fjord-files ")) return fail(Errc::internal, "not a files text");
        out_.index.header = std::string(line);
        header_ = true;
        return {};
    }
    if (line.empty()) return {};
    auto path = path_field(line);
    std::string &to = path ? part_ : meta_;
    to.append(line);
    to += '\n'; // the chunks keep each line whole, '\n' included
    if (path && (ends_chunk(*path) || ++lines_ == max_chunk_lines)) {
        out_.index.paths.push_back(add(std::move(part_)));
        part_.clear();
        lines_ = 0;
    }
    return {};
}

Result<SplitFiles> ChunkSplitter::finish() {
    if (!header_) return fail(Errc::internal, "not a files text");
    if (!part_.empty()) out_.index.paths.push_back(add(std::move(part_)));
    out_.index.meta = add(std::move(meta_));
    return std::move(out_);
}

Result<SplitFiles> split_files(std::string_view text, const ChunkStored &stored) {
    if (text.find('\n') == std::string_view::npos) return fail(Errc::internal, "not a files text");
    ChunkSplitter split(stored);
    for (std::size_t at = 0; at < text.size();) {
        auto end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        FJORD_TRY(split.line(text.substr(at, end - at)));
        at = end + 1;
    }
    return split.finish();
}

bool is_chunk_index(std::string_view body) { return body.starts_with(index_tag); }

std::string serialize_index(const ChunkIndex &index) {
    std::string out(index_tag);
    out += "header " + index.header + "\nmeta " + (index.meta.empty() ? "-" : index.meta) + "\n";
    out.reserve(out.size() + index.paths.size() * 43);
    for (const auto &id : index.paths) out += "p " + id + "\n";
    return out;
}

Result<ChunkIndex> parse_index(std::string_view body, const std::string &where) {
    if (!is_chunk_index(body)) return fail(Errc::invalid, where + ": not a fjord chunk index");
    ChunkIndex index;
    index.header.clear();
    bool has_meta = false;
    std::size_t lineno = 1;
    auto id_of = [](std::string_view v, std::string &out) {
        if (v == "-") return out.clear(), true;
        if (!valid_chunk_id(v)) return false;
        out = std::string(v);
        return true;
    };
    for (std::size_t at = index_tag.size(); at < body.size();) {
        auto end = body.find('\n', at);
        if (end == std::string_view::npos) end = body.size();
        std::string_view line = body.substr(at, end - at);
        at = end + 1;
        ++lineno;
        if (line.empty()) continue;
        auto sp = line.find(' ');
        auto key = line.substr(0, sp), val = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        bool ok = true;
        if (key == "header") {
            index.header = std::string(val);
            ok = val.starts_with("fjord-files ");
        } else if (key == "meta") {
            ok = has_meta = id_of(val, index.meta);
        } else if (key == "p") {
            ok = index.paths.size() < max_index_chunks && valid_chunk_id(val);
            if (ok) index.paths.emplace_back(val);
        } else {
            ok = false;
        }
        if (!ok) return fail(Errc::invalid, where + ":" + std::to_string(lineno) + ": malformed index entry");
    }
    if (index.header.empty() || !has_meta) return fail(Errc::invalid, where + ": incomplete chunk index");
    return index;
}

Status ChunkDir::put(const std::vector<std::pair<std::string, std::string>> &chunks, std::size_t *written) {
    // What is missing: a copy that is there whole (its size; its bytes are checked when read and
    // by heal()) is never written again.
    std::vector<std::pair<std::string, std::string_view>> todo; // path, content
    std::set<std::string_view> seen;
    for (const auto &[id, data] : chunks) {
        if (!valid_chunk_id(id)) return fail(Errc::internal, "bad chunk id " + id);
        if (!seen.insert(id).second) continue;
        for (const char *suffix : {"", ".copy"}) {
            std::string p = path(id) + suffix;
            if (!whole_file(p, data.size())) todo.emplace_back(std::move(p), data);
        }
    }
    if (todo.empty()) return {};
    if (::mkdir(dir_.c_str(), 0700) == 0) FJORD_TRY(fsync_dir(dirname_of(dir_))); // a state dir from before chunks
    else if (errno != EEXIST) return fail_errno("mkdir " + dir_);
    // A few files (one commit's change) are fsynced one by one; many (a first generation, a new
    // bucket count) with one syncfs, not hundreds of fsyncs. Either way before any rename.
    const bool each = todo.size() <= 8;
    std::size_t done = 0;
    auto undo = [&](Error e) {
        for (std::size_t i = 0; i < done; ++i) ::unlink((todo[i].first + ".tmp").c_str());
        return fail(std::move(e));
    };
    for (const auto &[p, data] : todo) {
        std::string tmp = p + ".tmp";
        unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!fd) return undo(fail_errno(tmp).value());
        ++done;
        if (auto w = write_all(fd.get(), data, tmp); !w) return undo(w.error());
        if (each && ::fsync(fd.get()) < 0) return undo(fail_errno("fsync " + tmp).value());
    }
    if (!each) {
        unique_fd d(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!d || ::syncfs(d.get()) < 0) return undo(fail_errno("syncfs " + dir_).value());
    }
    for (std::size_t i = 0; i < todo.size(); ++i)
        if (::rename((todo[i].first + ".tmp").c_str(), todo[i].first.c_str()) < 0) {
            auto e = fail_errno("rename " + todo[i].first + ".tmp").value();
            for (std::size_t k = i; k < todo.size(); ++k) ::unlink((todo[k].first + ".tmp").c_str());
            return fail(std::move(e));
        }
    if (written) *written += todo.size();
    FJORD_TRY(fsync_dir(dir_));
    for (const auto &[id, data] : chunks) remember(id, data); // the generation saved is loaded next
    return {};
}

Status ChunkDir::sync() const { return fsync_dir(dir_); }

bool ChunkDir::stored(const std::string &id, std::size_t size) const {
    return valid_chunk_id(id) && whole_file(path(id), size) && whole_file(path(id) + ".copy", size);
}

void ChunkDir::remember(const std::string &id, std::string_view content) const {
    auto [it, added] = cache_.try_emplace(id, content);
    if (added) cache_bytes_ += content.size();
}

void ChunkDir::trim(const ChunkIndex &index, std::size_t record_size) const {
    if (cache_bytes_ <= 2 * record_size + (1u << 20)) return;
    auto keep = index.ids();
    for (auto it = cache_.begin(); it != cache_.end();) {
        if (keep.count(it->first)) {
            ++it;
            continue;
        }
        cache_bytes_ -= it->second.size();
        it = cache_.erase(it);
    }
}

Result<std::string> ChunkDir::get(const std::string &id) const {
    auto c = fetch(id);
    if (!c) return fail(std::move(c.error()));
    return **c;
}

Result<const std::string *> ChunkDir::fetch(const std::string &id) const {
    const std::string p = path(id);
    if (!valid_chunk_id(id)) return fail(Errc::corrupt, "bad chunk id " + id);
    if (auto it = cache_.find(id); it != cache_.end()) return &it->second;
    auto found = [&](std::string content) -> Result<const std::string *> {
        remember(id, content);
        return &cache_.at(id);
    };
    auto a = read_chunk_file(p);
    if (a && blob_id(*a) == id) return found(std::move(*a));
    auto b = read_chunk_file(p + ".copy");
    if (b && blob_id(*b) == id) return found(std::move(*b));
    // Both damaged at rest, each in other bytes (bit rot): the chunk is found from the two.
    if (a && b)
        if (auto mended = mend_sealed(as_sealed(id, *a), as_sealed(id, *b))) return found(mended->substr(48));
    auto what = [](const Result<std::string> &r, const std::string &file) -> std::string {
        if (r) return "damaged (its content does not match its id)";
        return ::access(file.c_str(), F_OK) < 0 && errno == ENOENT ? "missing" : r.error().message;
    };
    return fail(Errc::corrupt, "chunk " + p + ": " + what(a, p) + ", and its copy " + p + ".copy: " + what(b, p + ".copy"));
}

Result<std::vector<std::string_view>> ChunkDir::pieces(const ChunkIndex &index, const std::string &where) const {
    std::size_t size = index.header.size() + 1;
    auto add = [&](const std::string &id) -> Status {
        if (id.empty()) return {};
        auto c = fetch(id);
        if (!c) return fail(c.error().context(where));
        size += (*c)->size();
        return {};
    };
    for (const auto &id : index.paths) FJORD_TRY(add(id));
    FJORD_TRY(add(index.meta));
    trim(index, size); // keeps the chunks of `index`: the views below stay valid
    std::vector<std::string_view> out;
    out.reserve(index.paths.size() + 1);
    for (const auto &id : index.paths)
        if (!id.empty()) out.emplace_back(cache_.at(id));
    if (!index.meta.empty()) out.emplace_back(cache_.at(index.meta));
    return out;
}

Result<std::string> ChunkDir::assemble(const ChunkIndex &index, const std::string &where) const {
    auto parts = pieces(index, where);
    if (!parts) return fail(std::move(parts.error()));
    std::string out = index.header + "\n";
    for (auto part : *parts) out += part;
    return out;
}

bool ChunkDir::heal(const std::string &id) {
    if (!valid_chunk_id(id)) return false;
    const std::string p = path(id);
    auto a = read_chunk_file(p), b = read_chunk_file(p + ".copy");
    bool a_ok = a && blob_id(*a) == id, b_ok = b && blob_id(*b) == id;
    if (a_ok || b_ok) remember(id, a_ok ? *a : *b);
    if (a_ok && b_ok) return false;
    if (a_ok) return write_file_atomic(p + ".copy", *a, 0600).has_value();
    if (b_ok) return write_file_atomic(p, *b, 0600).has_value();
    if (a && b)
        if (auto mended = mend_sealed(as_sealed(id, *a), as_sealed(id, *b))) {
            std::string_view body = std::string_view(*mended).substr(48);
            remember(id, body);
            return write_file_atomic(p, body, 0600) && write_file_atomic(p + ".copy", body, 0600);
        }
    return false;
}

void ChunkDir::remove_unused(const std::set<std::string> &live, bool keep_all) {
    std::vector<std::string> names;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir_, ec), end;
    for (; !ec && it != end; it.increment(ec)) names.push_back(it->path().filename().string());
    // Leftover temp files are from a save cut short (saves and prunes run under the state lock).
    for (const auto &name : names)
        if (name.ends_with(".tmp") || (!keep_all && !live.count(name.substr(0, 40)))) ::unlink((dir_ + "/" + name).c_str());
}

} // namespace fjord
