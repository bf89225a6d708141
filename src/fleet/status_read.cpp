#include "fleet/status_read.hpp"

#include "source/git_source.hpp"

namespace fjord::fleet {

Result<StatusRead> read_status_repo(GitSource &cache) {
    if (auto s = cache.fetch_status_refs(); !s) return fail(std::move(s.error()));
    StatusRead out;
    auto hosts = cache.refs("refs/status/hosts/", max_status_refs);
    if (!hosts) return fail(std::move(hosts.error()));
    auto markers = cache.refs("refs/status/waves/", max_status_refs);
    if (!markers) return fail(std::move(markers.error()));
    auto theirs = [](const std::string &local) { return "refs/fjord/" + local.substr(std::string_view("refs/status/").size()); };
    for (const auto &[ref, id] : *hosts) {
        StatusRead::HostEntry e{theirs(ref), "", ""};
        auto tree = cache.tree(id);
        if (!tree) {
            e.error = "not a report commit (a root commit holding report.json)";
        } else if (auto entries = (*tree)->list(""); !entries) {
            e.error = entries.error().message;
        } else {
            auto it = std::find_if(entries->begin(), entries->end(), [](const TreeEntry &t) { return t.name == "report.json"; });
            if (it == entries->end() || it->kind != EntryKind::file) e.error = "no report.json in its commit";
            else if (auto text = cache.read_blob(it->id, max_report_bytes); !text) e.error = "report.json: " + text.error().message;
            else e.text = std::move(*text);
        }
        out.hosts.push_back(std::move(e));
    }
    for (const auto &[ref, id] : *markers) out.markers.emplace_back(theirs(ref), id);
    return out;
}

} // namespace fjord::fleet
