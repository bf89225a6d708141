#include "apply/drift.hpp"

#include "apply/transaction.hpp"
#include <cstdio>
#include <cstring>
#include <optional>
#include <tuple>

namespace fjord {
namespace {

// A live secret larger than this cannot match (apply.max_file_size bounds what fjord wrote).
constexpr std::uint64_t max_secret_size = 1ull << 30;

std::string octal(unsigned m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", m);
    return buf;
}

const char *kind_name(LiveKind k) {
    switch (k) {
    case LiveKind::absent: return "missing";
    case LiveKind::file: return "a file";
    case LiveKind::symlink: return "a symlink";
    case LiveKind::dir: return "a folder";
    case LiveKind::other: return "a device, socket or fifo";
    }
    return "?";
}

// Errors from the filesystem layer start with the path; the event carries it already.
std::string unprefixed(const std::string &msg, const std::string &path) {
    return msg.rfind(path + ": ", 0) == 0 ? msg.substr(path.size() + 2) : msg;
}

Result<bool> content_matches(FolderWalk &walk, const FileSpec &spec) {
    auto id = walk.content_id(spec.path);
    if (!id) return fail(std::move(id.error()));
    return *id == spec.id;
}

// A secret's generation holds its ciphertext's id and a keyed digest of the plaintext, never a
// plain hash: the live file is compared by that digest, and its buffer wiped after.
Result<bool> secret_matches(FolderWalk &walk, const FileSpec &spec, const SecretDigest &digest) {
    if (!digest || spec.secret_mac.empty()) return true; // no identity: the content cannot be judged
    auto data = walk.read_file(spec.path, max_secret_size);
    if (!data) return fail(std::move(data.error()));
    bool same = digest(*data) == spec.secret_mac;
    explicit_bzero(data->data(), data->size()); // sodium_memzero's guarantee, without libsodium here
    return same;
}

// The owner and group ids of the previous file: most files of a host share them.
struct Owners {
    // The names, not a pointer to the spec: a generation's entries are built as they are read
    // and live only as long as the loop step that reads them.
    std::string owner, group;
    bool resolved = false;
    bool known = false; ///< false: the names are not on this host, ownership is not judged
    uid_t uid = 0;
    gid_t gid = 0;
    void resolve(const FileSpec &spec) {
        if (resolved && owner == spec.owner && group == spec.group) return;
        auto r = resolve_owner(spec.owner, spec.group);
        known = bool(r);
        if (r) std::tie(uid, gid) = *r;
        owner = spec.owner;
        group = spec.group;
        resolved = true;
    }
};

// One managed path: its event when it drifted. `fresh` gets the stat to remember when the
// content was hashed and found unchanged; `old` is the stat remembered before.
std::optional<DriftEvent> check(FolderWalk &walk, const std::string &path, const FileSpec &spec, const StatStamp *old,
                                const SecretDigest &secret_digest, Owners &owners, std::optional<StatStamp> &fresh) {
    auto st = walk.stat(path);
    if (!st) return DriftEvent{path, unprefixed(st.error().message, path), false};
    LiveKind want = spec.kind == FileKind::symlink ? LiveKind::symlink : LiveKind::file;
    if (st->kind == LiveKind::absent) return DriftEvent{path, "missing"};
    if (st->kind != want) {
        // A folder or device put there by hand is not fjord's to remove.
        bool fixable = st->kind == LiveKind::file || st->kind == LiveKind::symlink;
        return DriftEvent{path, std::string("replaced by ") + kind_name(st->kind), fixable};
    }
    // Every difference of one path goes into one event: "content changed; mode 0666, want 0640".
    std::vector<std::string> what;
    owners.resolve(spec);
    if (owners.known && (st->uid != owners.uid || st->gid != owners.gid))
        what.push_back("owner " + std::to_string(st->uid) + ":" + std::to_string(st->gid) + ", want " + spec.owner + ":" +
                       spec.group);
    if (spec.kind == FileKind::symlink) {
        auto t = walk.read_link(path);
        if (!t || *t != spec.target) what.push_back("symlink target changed");
    } else {
        StatStamp now{st->ino, st->size, st->mtime_ns, st->ctime_ns};
        bool same_stat = old && *old == now;
        if (!same_stat) {
            auto same = spec.secret ? secret_matches(walk, spec, secret_digest) : content_matches(walk, spec);
            if (!same) return DriftEvent{path, unprefixed(same.error().message, path), false};
            if (!*same) what.insert(what.begin(), "content changed");
        }
        if (st->mode != spec.mode) what.push_back("mode " + octal(st->mode) + ", want " + octal(spec.mode));
        if (what.empty() && !same_stat) fresh = now;
    }
    if (what.empty()) return std::nullopt;
    std::string joined;
    for (const auto &w : what) joined += (joined.empty() ? "" : "; ") + w;
    return DriftEvent{path, joined};
}

} // namespace

Result<std::vector<DriftEvent>> find_drift(const RootedFs &fs, const Generation &gen, StatCache &cache,
                                           const SecretDigest &secret_digest, std::size_t *refreshed) {
    fs.forget();
    // The generation's files are sorted by path, so each folder's files come together: the walk
    // opens each folder once and then costs one fstatat a file.
    FolderWalk walk(fs);
    Owners owners;
    std::vector<DriftEvent> events;
    std::vector<StatCache::Record> fresh; // stamps refreshed by this pass
    std::size_t known = 0;                // files the cache had a stamp for
    for (const auto &[path, af] : gen.files) {
        std::uint64_t key = cache.key_of(path);
        const StatStamp *old = cache.find(key);
        known += old != nullptr;
        std::optional<StatStamp> now;
        if (auto ev = check(walk, path, af.spec, old, secret_digest, owners, now)) events.push_back(std::move(*ev));
        if (now) fresh.push_back({key, *now}); // a drifted file keeps its old stamp: hashed again next time
    }
    if (refreshed) *refreshed = fresh.size();
    // Stamps of paths no longer managed: each stamp was looked up once, unless some are stale.
    bool stale = known < cache.size();
    cache.set(std::move(fresh));
    if (stale) cache.keep_only(gen.files);
    return events;
}

} // namespace fjord
