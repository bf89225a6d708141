#include "plan/file_table.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace fjord {

std::string_view FileTable::const_iterator::path() const { return t_->str(t_->recs_[i_].path); }

FileKind FileTable::const_iterator::kind() const {
    return t_->recs_[i_].flags & symlink ? FileKind::symlink : FileKind::file;
}

const FileTable::value_type &FileTable::const_iterator::load() const {
    if (!cur_) cur_.emplace(t_->entry(i_));
    return *cur_;
}

FileTable::Str FileTable::put(std::string_view s) {
    if (s.empty()) return {};
    // Offsets are 32-bit: a generation is bounded far below this by max_files and the path and
    // content limits, so reaching it is a bug, not a commit's doing.
    if (arena_.size() + s.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("fjord: a generation's file table is over 4 GiB");
    Str out{static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(s.size())};
    arena_.append(s);
    return out;
}

bool FileTable::put_id(std::string_view id, Str &out) {
    auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    char bytes[20];
    bool hex = id.size() == 40;
    for (std::size_t i = 0; hex && i < 20; ++i) {
        int hi = nibble(id[2 * i]), lo = nibble(id[2 * i + 1]);
        hex = hi >= 0 && lo >= 0;
        bytes[i] = static_cast<char>(hi << 4 | lo);
    }
    out = hex ? put(std::string_view(bytes, 20)) : put(id);
    return hex;
}

std::string FileTable::id_of(Str s, bool bin) const {
    if (!bin) return std::string(str(s));
    static const char *digits = "0123456789abcdef";
    std::string out(40, '0');
    auto raw = str(s);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        auto b = static_cast<unsigned char>(raw[i]);
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 15];
    }
    return out;
}

FileTable::Str FileTable::intern(std::string_view s) {
    if (s.empty()) return {};
    if (auto it = interned_.find(std::string(s)); it != interned_.end()) return it->second;
    Str out = put(s);
    interned_.emplace(std::string(s), out);
    return out;
}

FileTable::Rec FileTable::encode(std::string_view path, const AppliedFile &af) {
    const FileSpec &s = af.spec;
    const Original &o = af.orig;
    Rec r;
    r.path = put(path);
    if (put_id(s.id, r.id)) r.flags |= id_bin;
    r.target = put(s.target);
    r.owner = intern(s.owner);
    r.group = intern(s.group);
    // Most origins are a repo folder followed by the host path ("hosts/web1/files" + "/etc/x"):
    // the folder is kept once for the table.
    std::string_view origin = s.origin;
    if (origin.size() > path.size() && origin.substr(origin.size() - path.size()) == path) {
        r.origin = intern(origin.substr(0, origin.size() - path.size()));
        r.flags |= origin_prefix;
    } else {
        r.origin = put(origin);
    }
    r.secret_mac = put(s.secret_mac);
    if (put_id(o.id, r.orig_id)) r.flags |= orig_id_bin;
    r.orig_target = put(o.target);
    if (!s.validate.empty()) {
        validates_.push_back(s.validate);
        r.validate = static_cast<std::uint32_t>(validates_.size());
    }
    r.mode = s.mode;
    r.orig_mode = o.mode;
    r.orig_uid = o.uid;
    r.orig_gid = o.gid;
    if (s.secret) r.flags |= secret;
    if (o.existed) r.flags |= existed;
    if (o.sealed) r.flags |= sealed;
    if (s.kind == FileKind::symlink) r.flags |= symlink;
    if (o.kind == FileKind::symlink) r.flags |= orig_symlink;
    return r;
}

FileTable::value_type FileTable::entry(std::size_t i) const {
    const Rec &r = recs_[i];
    value_type v;
    v.first = str(r.path);
    FileSpec &s = v.second.spec;
    s.path = v.first;
    s.kind = r.flags & symlink ? FileKind::symlink : FileKind::file;
    s.id = id_of(r.id, r.flags & id_bin);
    s.target = str(r.target);
    s.mode = r.mode;
    s.owner = str(r.owner);
    s.group = str(r.group);
    s.origin = str(r.origin);
    if (r.flags & origin_prefix) s.origin += v.first;
    if (r.validate) s.validate = validates_[r.validate - 1];
    s.secret = r.flags & secret;
    s.secret_mac = str(r.secret_mac);
    Original &o = v.second.orig;
    o.existed = r.flags & existed;
    o.kind = r.flags & orig_symlink ? FileKind::symlink : FileKind::file;
    o.id = id_of(r.orig_id, r.flags & orig_id_bin);
    o.target = str(r.orig_target);
    o.mode = r.orig_mode;
    o.uid = r.orig_uid;
    o.gid = r.orig_gid;
    o.sealed = r.flags & sealed;
    return v;
}

std::size_t FileTable::index_of(std::string_view path) const {
    auto it = std::lower_bound(recs_.begin(), recs_.end(), path,
                               [this](const Rec &r, std::string_view p) { return str(r.path) < p; });
    return static_cast<std::size_t>(it - recs_.begin());
}

FileTable::const_iterator FileTable::find(std::string_view path) const {
    auto i = index_of(path);
    return i < recs_.size() && str(recs_[i].path) == path ? const_iterator{this, i} : end();
}

const AppliedFile FileTable::at(std::string_view path) const {
    auto i = index_of(path);
    if (i == recs_.size() || str(recs_[i].path) != path) throw std::out_of_range("FileTable::at: " + std::string(path));
    return entry(i).second;
}

std::pair<FileTable::const_iterator, bool> FileTable::emplace(std::string_view path, const AppliedFile &af) {
    std::size_t i = recs_.empty() || str(recs_.back().path) < path ? recs_.size() : index_of(path);
    if (i < recs_.size() && str(recs_[i].path) == path) return {{this, i}, false};
    Rec r = encode(path, af);
    recs_.insert(recs_.begin() + static_cast<std::ptrdiff_t>(i), r);
    return {{this, i}, true};
}

void FileTable::insert_or_assign(std::string_view path, const AppliedFile &af) {
    auto i = index_of(path);
    if (i < recs_.size() && str(recs_[i].path) == path) recs_[i] = encode(path, af); // the old strings stay in the arena until clear()
    else emplace(path, af);
}

std::size_t FileTable::erase(std::string_view path) {
    auto i = index_of(path);
    if (i == recs_.size() || str(recs_[i].path) != path) return 0;
    recs_.erase(recs_.begin() + static_cast<std::ptrdiff_t>(i));
    return 1;
}

void FileTable::clear() {
    recs_.clear();
    recs_.shrink_to_fit();
    arena_.clear();
    arena_.shrink_to_fit();
    interned_.clear();
    validates_.clear();
}

std::size_t FileTable::memory() const {
    std::size_t n = recs_.capacity() * sizeof(Rec) + arena_.capacity();
    for (const auto &[k, v] : interned_) n += sizeof(k) + k.capacity() + sizeof(v) + 2 * sizeof(void *);
    for (const auto &v : validates_)
        for (const auto &a : v) n += sizeof(a) + a.capacity();
    return n;
}

bool operator==(const FileTable &a, const FileTable &b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

} // namespace fjord
