#include "sandbox/fleet_isolated.hpp"

#include "fleet/status_read.hpp"
#include "sandbox/sandbox.hpp"
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace fjord {
Result<fleet::LsRefsAnswer> ls_refs_isolated(const fleet::LsRefsRequest &req) {
    auto t = fleet::LsRefsTransport::open(req);
    if (!t) return fail(t.error());
    SandboxLimits l;
    l.timeout = req.timeout + std::chrono::seconds(5); // the talk bounds itself; this is the backstop
    l.max_output = req.max_bytes + 64;                 // the answer is never longer than what was read
    l.no_file_writes = true;
    l.keep_fd = t->read_fd();
    // The answer: "v2 BYTES" or "v0 BYTES", then "ID REF" a line.
    auto answer = run_sandboxed("ls-refs", SeccompProfile::poll, l, [&]() -> Result<std::string> {
        auto a = t->talk(req);
        if (!a) return fail(std::move(a.error()));
        std::string out = std::string(a->v0 ? "v0 " : "v2 ") + std::to_string(a->bytes_read) + "\n";
        for (const auto &[ref, id] : a->refs) out += id + " " + ref + "\n";
        return out;
    });
    if (!answer) return fail(t->finish(std::move(answer.error())));
    t->finish();
    auto bad = [&] { return fail(Errc::internal, "ls-refs sandbox: invalid answer for " + req.url); };
    fleet::LsRefsAnswer out;
    std::string_view rest = *answer;
    auto line = [&]() -> std::optional<std::string_view> {
        auto nl = rest.find('\n');
        if (nl == std::string_view::npos) return std::nullopt;
        auto l = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        return l;
    };
    auto head = line();
    if (!head || head->size() < 4 || (head->substr(0, 3) != "v0 " && head->substr(0, 3) != "v2 ")) return bad();
    out.v0 = head->substr(0, 3) == "v0 ";
    for (char c : head->substr(3))
        if (c < '0' || c > '9') return bad();
    auto digits = head->substr(3);
    if (std::from_chars(digits.data(), digits.data() + digits.size(), out.bytes_read).ptr != digits.data() + digits.size()) return bad();
    while (!rest.empty()) {
        auto l = line();
        if (!l) return bad();
        auto sp = l->find(' ');
        if (sp == std::string_view::npos || !fleet::is_object_id(l->substr(0, sp))) return bad();
        std::string ref(l->substr(sp + 1));
        bool under = req.prefixes.empty();
        for (const auto &p : req.prefixes) under = under || ref.rfind(p, 0) == 0;
        if (!under || ref.empty() || ref.size() > 1024 || out.refs.size() >= req.max_refs) return bad();
        for (unsigned char c : ref)
            if (c <= 0x20 || c == 0x7f) return bad();
        out.refs.emplace(std::move(ref), std::string(l->substr(0, sp)));
    }
    return out;
}

Result<std::optional<std::string>> root_file_isolated(GitSource &source, const std::string &commit, const std::string &name,
                                                     std::uint64_t max) {
    SandboxLimits l;
    l.timeout = std::chrono::seconds(60);
    l.max_output = max + 1;
    l.no_file_writes = true;
    // The answer: "-" (no such file) or "+" and the content.
    auto answer = run_sandboxed("read " + name, SeccompProfile::render, l, [&]() -> Result<std::string> {
        auto tree = source.tree(commit);
        if (!tree) return fail(std::move(tree.error()));
        auto entries = (*tree)->list("");
        if (!entries) return fail(std::move(entries.error()));
        for (const auto &e : *entries) {
            if (e.name != name) continue;
            if (e.kind != EntryKind::file) return fail(Errc::invalid, name + ": not a regular file");
            auto size = (*tree)->blob_size(e.id);
            if (!size) return fail(std::move(size.error()));
            if (*size > max) return fail(Errc::invalid, name + ": larger than " + std::to_string(max) + " bytes");
            auto text = (*tree)->read_blob(e.id, max);
            if (!text) return fail(std::move(text.error()));
            return "+" + *text;
        }
        return std::string("-");
    });
    if (!answer) return fail(std::move(answer.error()));
    if (answer->empty() || ((*answer)[0] != '-' && (*answer)[0] != '+') || (*answer == "-") != ((*answer)[0] == '-'))
        return fail(Errc::internal, "read " + name + " sandbox: invalid answer");
    if ((*answer)[0] == '-') return std::optional<std::string>{};
    return std::optional<std::string>(answer->substr(1));
}

Result<fleet::StatusRead> read_status_repo_isolated(const SourceConfig &remote, const std::string &scratch_dir) {
    SandboxLimits l;
    l.timeout = std::chrono::minutes(5);
    l.max_output = 64ull << 20;
    l.writable_dir = scratch_dir; // Landlock: the scratch cache only
    // The cache is made here: making a repository probes the filesystem (symlink) in ways the
    // fetch filter refuses, and there is nothing untrusted in it yet.
    auto cache = GitSource::open(remote, scratch_dir + "/cache");
    if (!cache) return fail(std::move(cache.error()));
    auto answer = run_sandboxed("status repository read", SeccompProfile::fetch, l, [&]() -> Result<std::string> {
        auto read = fleet::read_status_repo(**cache);
        if (!read) return fail(std::move(read.error()));
        nlohmann::json hosts = nlohmann::json::array(), markers = nlohmann::json::array();
        for (const auto &h : read->hosts) hosts.push_back({h.ref, h.text, h.error});
        for (const auto &[ref, id] : read->markers) markers.push_back({ref, id});
        return nlohmann::json{{"hosts", hosts}, {"markers", markers}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    });
    if (!answer) return fail(std::move(answer.error()));
    // The child read untrusted objects: its answer is checked again, shape and bounds.
    auto bad = [] { return fail(Errc::internal, "status repository read sandbox: invalid answer"); };
    auto j = nlohmann::json::parse(*answer, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("hosts") || !j.contains("markers") || !j["hosts"].is_array() ||
        !j["markers"].is_array() || j["hosts"].size() > fleet::max_status_refs || j["markers"].size() > fleet::max_status_refs)
        return bad();
    fleet::StatusRead out;
    auto str = [](const nlohmann::json &v, std::size_t max, std::string &to) {
        if (!v.is_string() || v.get_ref<const std::string &>().size() > max) return false;
        to = v.get<std::string>();
        return true;
    };
    for (const auto &h : j["hosts"]) {
        fleet::StatusRead::HostEntry e;
        if (!h.is_array() || h.size() != 3 || !str(h[0], 1024, e.ref) || !str(h[1], fleet::max_report_bytes, e.text) || !str(h[2], 4096, e.error))
            return bad();
        out.hosts.push_back(std::move(e));
    }
    for (const auto &m : j["markers"]) {
        std::string ref, id;
        if (!m.is_array() || m.size() != 2 || !str(m[0], 1024, ref) || !str(m[1], 40, id)) return bad();
        out.markers.emplace_back(std::move(ref), std::move(id));
    }
    return out;
}

} // namespace fjord
