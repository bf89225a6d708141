#include "apply/drift.hpp"

#include "apply/transaction.hpp"
#include <cstdio>
#include <cstring>

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

Result<bool> content_matches(const RootedFs &fs, const FileSpec &spec) {
    auto id = fs.content_id(spec.path);
    if (!id) return fail(std::move(id.error()));
    return *id == spec.id;
}

// A secret's generation holds its ciphertext's id and a keyed digest of the plaintext, never a
// plain hash: the live file is compared by that digest, and its buffer wiped after.
Result<bool> secret_matches(const RootedFs &fs, const FileSpec &spec, const SecretDigest &digest) {
    if (!digest || spec.secret_mac.empty()) return true; // no identity: the content cannot be judged
    auto data = fs.read_file(spec.path, max_secret_size);
    if (!data) return fail(std::move(data.error()));
    bool same = digest(*data) == spec.secret_mac;
    explicit_bzero(data->data(), data->size()); // sodium_memzero's guarantee, without libsodium here
    return same;
}

} // namespace

Result<std::vector<DriftEvent>> find_drift(const RootedFs &fs, const Generation &gen, StatCache &cache,
                                           const SecretDigest &secret_digest, std::size_t *refreshed) {
    fs.forget();
    std::vector<DriftEvent> events;
    for (const auto &[path, af] : gen.files) {
        const FileSpec &spec = af.spec;
        auto st = fs.stat(path);
        if (!st) {
            events.push_back({path, unprefixed(st.error().message, path), false});
            continue;
        }
        LiveKind want = spec.kind == FileKind::symlink ? LiveKind::symlink : LiveKind::file;
        if (st->kind == LiveKind::absent) {
            events.push_back({path, "missing"});
            continue;
        }
        if (st->kind != want) {
            // A folder or device put there by hand is not fjord's to remove.
            bool fixable = st->kind == LiveKind::file || st->kind == LiveKind::symlink;
            events.push_back({path, std::string("replaced by ") + kind_name(st->kind), fixable});
            continue;
        }
        // Every difference of one path goes into one event: "content changed; mode 0666, want 0640".
        std::vector<std::string> what;
        auto owner = resolve_owner(spec.owner, spec.group);
        if (owner && (st->uid != owner->first || st->gid != owner->second))
            what.push_back("owner " + std::to_string(st->uid) + ":" + std::to_string(st->gid) + ", want " + spec.owner +
                           ":" + spec.group);
        if (spec.kind == FileKind::symlink) {
            auto t = fs.read_link(path);
            if (!t || *t != spec.target) what.push_back("symlink target changed");
        } else {
            StatStamp now{st->ino, st->size, st->mtime_ns, st->ctime_ns};
            auto c = cache.find(path);
            bool same_stat = c != cache.end() && c->second.ino == now.ino && c->second.size == now.size &&
                             c->second.mtime_ns == now.mtime_ns && c->second.ctime_ns == now.ctime_ns;
            if (!same_stat) {
                auto same = spec.secret ? secret_matches(fs, spec, secret_digest) : content_matches(fs, spec);
                if (!same) {
                    events.push_back({path, unprefixed(same.error().message, path), false});
                    continue;
                }
                if (!*same) what.insert(what.begin(), "content changed");
            }
            if (st->mode != spec.mode) what.push_back("mode " + octal(st->mode) + ", want " + octal(spec.mode));
            if (what.empty() && !same_stat) {
                cache[path] = now;
                if (refreshed) ++*refreshed;
            }
        }
        if (what.empty()) continue;
        std::string joined;
        for (const auto &w : what) joined += (joined.empty() ? "" : "; ") + w;
        events.push_back({path, joined});
    }
    return events;
}

} // namespace fjord
