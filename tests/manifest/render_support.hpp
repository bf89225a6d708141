#pragma once
// What the render tests share: a repo tree held in memory, the options of host web1, and the
// render of a tree expected to succeed or to fail.
#include "manifest/render.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fjord::test {

/// A repo tree held in a map: path -> content and kind; folders are implied by the paths.
class FakeTree : public TreeView {
  public:
    FakeTree &file(const std::string &path, const std::string &content, bool exec = false) {
        return put(path, {content, EntryKind::file, exec});
    }
    FakeTree &link(const std::string &path, const std::string &target) {
        return put(path, {target, EntryKind::symlink, false});
    }
    FakeTree &special(const std::string &path, EntryKind kind) { return put(path, {path, kind, false}); }
    /// A file whose blob_size claims `size` bytes, without holding them.
    FakeTree &big(const std::string &path, std::uint64_t size) {
        file(path, "big:" + path);
        sizes_[blob_id("big:" + path)] = size;
        return *this;
    }

    Result<std::vector<TreeEntry>> list(const std::string &dir) const override {
        ++lists;
        std::vector<TreeEntry> out;
        std::set<std::string> dirs;
        std::string prefix = dir.empty() ? "" : dir + "/";
        for (const auto &[path, n] : nodes_) {
            if (path.compare(0, prefix.size(), prefix) != 0) continue;
            std::string rest = path.substr(prefix.size());
            auto slash = rest.find('/');
            if (slash != std::string::npos) {
                if (dirs.insert(rest.substr(0, slash)).second)
                    out.push_back({rest.substr(0, slash), EntryKind::dir, false, tree_id(prefix + rest.substr(0, slash))});
                continue;
            }
            out.push_back({rest, n.kind, n.exec, blob_id(n.content)});
        }
        if (out.empty() && !dir.empty()) return fail(Errc::not_found, "no folder " + dir);
        return out;
    }
    Result<std::string> read_blob(const std::string &id, std::uint64_t max) const override {
        reads.insert(id);
        for (const auto &[path, n] : nodes_)
            if (blob_id(n.content) == id) {
                if (n.content.size() > max) return fail(Errc::invalid, "blob too large");
                return n.content;
            }
        return fail(Errc::not_found, "no blob " + id);
    }
    Result<std::uint64_t> blob_size(const std::string &id) const override {
        if (auto it = sizes_.find(id); it != sizes_.end()) return it->second;
        for (const auto &[path, n] : nodes_)
            if (blob_id(n.content) == id) return n.content.size();
        return fail(Errc::not_found, "no blob " + id);
    }
    std::string commit() const override { return "c0ffee"; }

    FakeTree &remove(const std::string &path) {
        nodes_.erase(path);
        return *this;
    }
    bool has(const std::string &path) const { return nodes_.count(path) > 0; }
    std::vector<std::string> paths() const {
        std::vector<std::string> out;
        for (const auto &[p, n] : nodes_) out.push_back(p);
        return out;
    }

    mutable std::set<std::string> reads; ///< blob ids read, to prove render reads little
    mutable std::size_t lists = 0;       ///< folders listed, to prove a partial render walks little

  private:
    struct Node {
        std::string content;
        EntryKind kind;
        bool exec;
    };
    /// A folder's id, as Git's: the same content below it, the same id.
    std::string tree_id(const std::string &dir) const {
        std::string all;
        for (const auto &[path, n] : nodes_)
            if (path.compare(0, dir.size() + 1, dir + "/") == 0)
                all += path + "\n" + std::to_string(static_cast<int>(n.kind)) + (n.exec ? "x" : "-") + blob_id(n.content) + "\n";
        return blob_id(all);
    }
    FakeTree &put(const std::string &path, Node n) {
        nodes_[path] = std::move(n);
        return *this;
    }
    std::map<std::string, Node> nodes_;
    std::map<std::string, std::uint64_t> sizes_;
};

/// The options of host web1: its folder, two protected paths, its name as a host fact.
inline RenderOptions web1() {
    RenderOptions o;
    o.host_path = "hosts/web1";
    o.protect = {"/boot", "/etc/fjord"};
    set_var(o.facts, "host.name", VarValue::string("web1"));
    return o;
}

/// The error message of a render expected to fail.
inline std::string error_of(const FakeTree &t, const RenderOptions &o = web1()) {
    auto r = render(t, o);
    REQUIRE_FALSE(r.has_value());
    return r.error().message;
}

/// The desired state of a render expected to succeed.
inline DesiredState ok(const FakeTree &t, const RenderOptions &o = web1()) {
    auto r = render(t, o);
    if (!r) FAIL(r.error().message);
    return *r;
}

/// A repo entry for tree_of: a file unless `kind` says otherwise (a symlink's content is its
/// target).
struct Node {
    std::string path;
    std::string content;
    EntryKind kind = EntryKind::file;
};

/// A tree holding NODES, for tables of cases.
inline FakeTree tree_of(const std::vector<Node> &nodes) {
    FakeTree t;
    for (const Node &n : nodes) {
        if (n.kind == EntryKind::file) t.file(n.path, n.content);
        else if (n.kind == EntryKind::symlink) t.link(n.path, n.content);
        else t.special(n.path, n.kind);
    }
    return t;
}

} // namespace fjord::test
