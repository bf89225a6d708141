#include "sandbox/report_isolated.hpp"

#include "sandbox/sandbox.hpp"

namespace fjord {
namespace {

/// The status repository's folder when it is on this machine, which the push writes into.
std::string local_repo_dir(const std::string &url) {
    switch (url_transport(url)) {
    case Transport::local: return url;
    case Transport::file: return url.substr(7);
    default: return {};
    }
}

/// In the child: the objects, the local refs, the push.
Result<std::string> write_and_push(GitSource &cache, const ReportPush &p) {
    auto blob = cache.write_object("blob", p.report_json);
    if (!blob) return fail(std::move(blob.error()));
    auto tree = cache.write_object("tree", fleet::report_tree_body(*blob));
    if (!tree) return fail(std::move(tree.error()));
    auto commit = cache.write_object("commit", fleet::report_commit_body(*tree, p.host, p.time));
    if (!commit) return fail(std::move(commit.error()));
    FJORD_TRY(cache.set_ref(fleet::local_report_ref, *commit));
    if (p.mark) {
        auto empty = cache.write_object("tree", "");
        if (!empty) return fail(std::move(empty.error()));
        auto marker = cache.write_object("commit", fleet::marker_body(p.mark->commit, p.mark->state));
        if (!marker) return fail(std::move(marker.error()));
        if (*marker != fleet::marker_id(p.mark->commit, p.mark->state))
            return fail(Errc::internal, "marker for " + p.mark->commit + ": Git wrote " + *marker + ", not the id every host computes");
        FJORD_TRY(cache.set_ref(fleet::local_marker_ref, *marker));
    }
    FJORD_TRY(cache.push(fleet::push_refspecs(p.host, p.wave, p.mark.has_value(), p.old_marker_ref)));
    return std::string("ok");
}

} // namespace

Result<std::unique_ptr<GitSource>> open_report_cache(const ReportConfig &cfg, const std::string &cache_dir) {
    SourceConfig sc;
    sc.url = cfg.url;
    sc.ssh_key = cfg.ssh_key;
    sc.known_hosts = cfg.known_hosts;
    auto cache = GitSource::open(sc, cache_dir);
    if (!cache) return fail(std::move(cache.error()).context("report"));
    return cache;
}

Result<std::string> push_report_isolated(GitSource &cache, const ReportConfig &cfg, const ReportPush &p) {
    SandboxLimits l;
    l.timeout = cfg.timeout;
    l.max_output = 16;
    l.writable_dir = cache.cache_dir();
    if (std::string dir = local_repo_dir(cfg.url); !dir.empty()) l.more_writable_dirs.push_back(dir);
    auto answer = run_sandboxed("report push", SeccompProfile::fetch, l, [&] { return write_and_push(cache, p); });
    if (!answer) return fail(std::move(answer.error()));
    if (*answer != "ok") return fail(Errc::internal, "report push sandbox: invalid answer");
    return p.mark ? fleet::marker_ref(p.wave, p.host) : std::string{};
}

} // namespace fjord
