#pragma once
// Helpers for apply tests: the shared temp folder and a blob map standing in for the Git cache
// (content by id is all a transaction asks of it).
#include "support/temp_dir.hpp"
#include "util/tree.hpp"
#include "util/hash.hpp"
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
