#include "daemon/isolated.hpp"

#include "daemon/sandbox.hpp"
#include "manifest/desired_state_json.hpp"
#include "manifest/validate.hpp"
#include <algorithm>
#include <fnmatch.h>
#include <fstream>

namespace fjord {
namespace {

using namespace std::chrono_literals;

// Wall-time limits. libgit2 1.5 has no network timeout of its own: before these, a server that
// stopped answering hung the agent.
constexpr auto poll_timeout = 60s;
constexpr auto fetch_timeout = 30min; // up to the 2 GiB fetch limit over a slow link
constexpr auto render_timeout = 10min;
constexpr std::uint64_t render_cpu_seconds = 300;

bool is_hex_id(std::string_view id) {
    return id.size() == 40 && std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// The limits of a render child: its answer grows with the files and the rendered templates;
/// its memory is what the parent already maps (fork keeps it) plus room for the largest files.
SandboxLimits render_limits(const RenderOptions &opts) {
    SandboxLimits l;
    l.timeout = render_timeout;
    l.max_output = std::min<std::uint64_t>((64ull << 20) + opts.max_files * 2048, 1ull << 30);
    l.cpu_seconds = render_cpu_seconds;
    l.no_file_writes = true;
    std::uint64_t pages = 0;
    if (std::ifstream statm("/proc/self/statm"); statm >> pages)
        l.max_memory = pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) + (1ull << 30) +
                       4 * std::min<std::uint64_t>(opts.max_file_size, 1ull << 30);
    return l;
}

Result<DesiredState> checked(Result<std::string> answer, const RenderOptions &opts, const std::string &commit) {
    if (!answer) return fail(std::move(answer.error()));
    auto d = decode_desired(*answer);
    if (!d) return fail(std::move(d.error()).context("render sandbox: invalid answer"));
    if (auto ok = validate_desired(*d, opts, commit); !ok) return fail(std::move(ok.error()).context("render sandbox: invalid answer"));
    return d;
}

} // namespace

Result<RemoteHead> poll_isolated(GitSource &source, const SourceConfig &cfg) {
    SandboxLimits l;
    l.timeout = poll_timeout;
    l.max_output = 4096;
    auto answer = run_sandboxed("poll", SeccompProfile::fetch, l, [&]() -> Result<std::string> {
        auto h = source.poll();
        if (!h) return fail(std::move(h.error()));
        return h->ref + "\n" + h->commit;
    });
    if (!answer) return fail(std::move(answer.error()));
    auto nl = answer->find('\n');
    RemoteHead h;
    if (nl != std::string::npos) h = RemoteHead{answer->substr(0, nl), answer->substr(nl + 1)};
    bool ref_ok = cfg.tag.empty() ? h.ref == "refs/heads/" + cfg.branch
                                  : h.ref.starts_with("refs/tags/") && h.ref.size() < 1024 &&
                                        h.ref.find_first_of(std::string_view("\n\r\0", 3)) == std::string::npos &&
                                        ::fnmatch(cfg.tag.c_str(), h.ref.c_str() + 10, 0) == 0;
    if (!ref_ok || !is_hex_id(h.commit))
        return fail(Errc::internal, "poll sandbox: invalid answer \"" + printable(answer->substr(0, 200)) + "\"");
    return h;
}

Status fetch_isolated(GitSource &source, const RemoteHead &head) {
    SandboxLimits l;
    l.timeout = fetch_timeout;
    l.max_output = 16;
    auto answer = run_sandboxed("fetch", SeccompProfile::fetch, l, [&]() -> Result<std::string> {
        if (auto s = source.fetch(head); !s) return fail(std::move(s.error()));
        return std::string("ok");
    });
    if (!answer) return fail(std::move(answer.error()));
    if (*answer != "ok") return fail(Errc::internal, "fetch sandbox: invalid answer");
    return {};
}

Result<bool> descends_isolated(GitSource &source, const std::string &commit, const std::string &ancestor) {
    SandboxLimits l;
    l.timeout = render_timeout;
    l.max_output = 16;
    l.cpu_seconds = render_cpu_seconds;
    l.no_file_writes = true;
    auto answer = run_sandboxed("history", SeccompProfile::render, l, [&]() -> Result<std::string> {
        auto d = source.is_descendant(commit, ancestor);
        if (!d) return fail(std::move(d.error()));
        return std::string(*d ? "1" : "0");
    });
    if (!answer) return fail(std::move(answer.error()));
    if (*answer != "1" && *answer != "0") return fail(Errc::internal, "history sandbox: invalid answer");
    return *answer == "1";
}

Result<DesiredState> render_isolated(GitSource &source, const std::string &commit, const RenderOptions &opts) {
    auto answer = run_sandboxed("render", SeccompProfile::render, render_limits(opts), [&]() -> Result<std::string> {
        auto tree = source.tree(commit);
        if (!tree) return fail(std::move(tree.error()));
        auto d = render(**tree, opts);
        if (!d) return fail(std::move(d.error()));
        return encode_desired(*d);
    });
    return checked(std::move(answer), opts, commit);
}

Result<DesiredState> render_dir_isolated(const std::string &root, const RenderOptions &opts) {
    auto answer = run_sandboxed("render", SeccompProfile::render, render_limits(opts), [&]() -> Result<std::string> {
        auto tree = open_dir_tree(root);
        if (!tree) return fail(std::move(tree.error()));
        auto d = render(**tree, opts);
        if (!d) return fail(std::move(d.error()));
        return encode_desired(*d);
    });
    return checked(std::move(answer), opts, "");
}

} // namespace fjord
