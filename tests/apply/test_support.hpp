#pragma once
// Helpers for apply tests: a blob map standing in for the Git cache (content by id is all a
// transaction asks of it), and a host made of temp folders to plan and apply on.
#include "apply/transaction.hpp"
#include "plan/plan.hpp"
#include "support/temp_dir.hpp"
#include "util/tree.hpp"
#include "util/hash.hpp"
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fjord::test {

struct Blobs : BlobReader {
    std::map<std::string, std::string> by_id;
    std::string add(const std::string &content) {
        auto id = blob_id(content);
        by_id[id] = content;
        return id;
    }
    Result<std::string> read_blob(const std::string &id, std::uint64_t) const override {
        auto it = by_id.find(id);
        if (it == by_id.end()) return fail(Errc::not_found, "no blob " + id);
        return it->second;
    }
};

/// A host for the apply tests: a root and a state folder, the Git cache as a blob map, and the
/// store, the rooted file system and the ApplyContext over them.
struct ApplyHost {
    TempDir root, state;
    Blobs blobs;
    Store store = *Store::open(state.path + "/s");
    RootedFs fs = *RootedFs::open(root.path);
    ApplyContext ctx{store, fs, &blobs, 1 << 20};

    /// A file whose content the cache holds.
    FileSpec spec(const std::string &path, const std::string &content, unsigned mode = 0644) {
        FileSpec s;
        s.path = path;
        s.id = blobs.add(content);
        s.mode = mode;
        return s;
    }
    /// The plan from the current generation to `d`, numbered as the next generation.
    Result<Plan> plan(const DesiredState &d) {
        auto prev = store.load(*store.current());
        auto p = make_plan(*prev, d, fs, {});
        if (p) p->next.info.number = *store.next_number();
        return p;
    }
    /// Plans `d` and applies it; `text`, when given, gets the plan as describe() shows it.
    Result<ApplyReport> apply(const DesiredState &d, const std::function<Status()> &verify = {}, std::string *text = nullptr) {
        auto prev = store.load(*store.current());
        auto p = plan(d);
        if (!p) return fail(p.error());
        if (text) *text = describe(*p, *prev);
        return apply_plan(ctx, *prev, *p, d, verify);
    }
};

/// A desired state of these files.
inline DesiredState state_of(std::initializer_list<FileSpec> files) {
    DesiredState d;
    for (const auto &f : files) d.files.emplace(f.path, f);
    return d;
}

inline std::string slurp(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline void spit(const std::string &p, const std::string &content) {
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

/// Every path under root with its kind, mode and content: equal snapshots mean equal trees.
inline std::map<std::string, std::string> snapshot(const std::string &root) {
    std::map<std::string, std::string> out;
    for (auto &e : std::filesystem::recursive_directory_iterator(root)) {
        auto rel = e.path().string().substr(root.size());
        auto st = std::filesystem::symlink_status(e.path());
        auto perms = static_cast<unsigned>(st.permissions());
        if (std::filesystem::is_symlink(st)) out[rel] = "l:" + std::filesystem::read_symlink(e.path()).string();
        else if (std::filesystem::is_directory(st)) out[rel] = "d:" + std::to_string(perms);
        else out[rel] = "f:" + std::to_string(perms) + ":" + slurp(e.path());
    }
    return out;
}

} // namespace fjord::test
