#include "sandbox/isolated.hpp"

#include "sandbox/sandbox.hpp"
#include "manifest/desired_state_json.hpp"
#include "manifest/validate.hpp"
#include "source/dir_tree.hpp"
#include <algorithm>
#include <fnmatch.h>
#include <fstream>
#include <optional>
#include <set>

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

/// The limits of a render-profile child that reads the Git cache and answers in a word.
SandboxLimits short_answer_limits() {
    SandboxLimits l;
    l.timeout = render_timeout;
    l.max_output = 16;
    l.cpu_seconds = render_cpu_seconds;
    l.no_file_writes = true;
    return l;
}

/// The render child's answer. A render: "ok", then the names of facts its templates looked up
/// (RenderOptions::facts_used lives in the child's memory, so they travel back), a count line
/// and one name a line, then the DesiredState's wire form. A failed render whose caller
/// collects template errors (fjordctl validate: every error, not just the first): "errors",
/// a count line, then the render's error and each template error, one a line, code first.
std::string encode_answer(const DesiredState &d, const std::set<std::string> &facts_used) {
    std::string out = "ok\n" + std::to_string(facts_used.size()) + "\n";
    for (const auto &n : facts_used) out += n + "\n";
    return out + encode_desired(d);
}

std::string one_line(const Error &e) {
    std::string m = printable(e.message.substr(0, 4096));
    for (char &c : m)
        if (c == '\n') c = ' ';
    return std::to_string(static_cast<int>(e.code)) + " " + m + "\n";
}

std::string encode_errors(const Error &first, const std::vector<Error> &errors) {
    std::string out = "errors\n" + std::to_string(errors.size() + 1) + "\n" + one_line(first);
    for (const auto &e : errors) out += one_line(e);
    return out;
}

constexpr std::size_t max_lines = 4096;

Result<DesiredState> checked(Result<std::string> answer, const RenderOptions &opts, const std::string &commit) {
    if (!answer) return fail(std::move(answer.error()));
    std::string_view rest = *answer;
    auto line = [&]() -> std::optional<std::string_view> {
        auto nl = rest.find('\n');
        if (nl == std::string_view::npos || nl > 8192) return std::nullopt;
        auto l = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        return l;
    };
    auto bad = [](const char *what) { return fail(Errc::internal, std::string("render sandbox: invalid answer (") + what + ")"); };
    auto kind = line();
    auto count = line();
    std::size_t n = 0;
    if (!kind || (*kind != "ok" && *kind != "errors") || !count || count->empty() || count->size() > 5 ||
        count->find_first_not_of("0123456789") != std::string_view::npos || (n = std::stoul(std::string(*count))) > max_lines)
        return bad("header");
    if (*kind == "errors") {
        std::vector<Error> errors;
        for (std::size_t i = 0; i < n; ++i) {
            auto l = line();
            auto sp = l ? l->find(' ') : std::string_view::npos;
            if (sp == std::string_view::npos || sp == 0 || sp > 2 || l->substr(0, sp).find_first_not_of("0123456789") != std::string_view::npos)
                return bad("errors");
            int code = std::stoi(std::string(l->substr(0, sp)));
            if (code > static_cast<int>(Errc::internal)) return bad("errors");
            errors.push_back(Error{static_cast<Errc>(code), printable(l->substr(sp + 1))}); // the child is not trusted
        }
        if (errors.empty() || !rest.empty()) return bad("errors");
        if (opts.template_errors) opts.template_errors->insert(opts.template_errors->end(), errors.begin() + 1, errors.end());
        return fail(std::move(errors.front()));
    }
    std::set<std::string> used;
    for (std::size_t i = 0; i < n; ++i) {
        auto name = line();
        // Only names of facts: "host", "fjord" or below them, printable.
        if (!name || !(name->starts_with("host") || name->starts_with("fjord")) || printable(*name) != *name) return bad("facts used");
        used.emplace(*name);
    }
    auto d = decode_desired(rest);
    if (!d) return fail(std::move(d.error()).context("render sandbox: invalid answer"));
    if (auto ok = validate_desired(*d, opts, commit); !ok) return fail(std::move(ok.error()).context("render sandbox: invalid answer"));
    if (opts.facts_used) opts.facts_used->insert(used.begin(), used.end());
    return d;
}

/// render() in the child, with the facts it used and the template errors collected there.
Result<std::string> render_in_child(const TreeView &tree, RenderOptions opts, const TreeView *base = nullptr) {
    std::set<std::string> used;
    std::vector<Error> template_errors;
    bool collect = opts.template_errors != nullptr;
    opts.facts_used = &used;
    opts.template_errors = collect ? &template_errors : nullptr;
    auto d = render(tree, opts, base);
    if (!d) {
        if (collect) return encode_errors(d.error(), template_errors);
        return fail(std::move(d.error()));
    }
    return encode_answer(*d, used);
}

} // namespace

Result<RemoteHead> poll_isolated(GitSource &source, const SourceConfig &cfg) {
    SandboxLimits l;
    l.timeout = poll_timeout;
    l.max_output = 4096;
    auto answer = run_sandboxed("poll", SeccompProfile::poll, l, [&]() -> Result<std::string> {
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
    l.writable_dir = source.cache_dir(); // Landlock: writes only into the Git cache
    auto answer = run_sandboxed("fetch", SeccompProfile::fetch, l, [&]() -> Result<std::string> {
        if (auto s = source.fetch(head); !s) return fail(std::move(s.error()));
        return std::string("ok");
    });
    if (!answer) return fail(std::move(answer.error()));
    if (*answer != "ok") return fail(Errc::internal, "fetch sandbox: invalid answer");
    return {};
}

Status verify_isolated(GitSource &source) {
    auto answer = run_sandboxed("cache check", SeccompProfile::render, short_answer_limits(), [&]() -> Result<std::string> {
        if (auto v = source.verify_refs(); !v) return fail(std::move(v.error()));
        return std::string("ok");
    });
    if (!answer) return fail(std::move(answer.error()));
    if (*answer != "ok") return fail(Errc::internal, "cache check sandbox: invalid answer");
    return {};
}

Result<bool> descends_isolated(GitSource &source, const std::string &commit, const std::string &ancestor) {
    auto answer = run_sandboxed("history", SeccompProfile::render, short_answer_limits(), [&]() -> Result<std::string> {
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
        // The base commit gone from the cache (cloned again, history rewritten): a whole render.
        std::unique_ptr<TreeView> base;
        if (!opts.base_commit.empty())
            if (auto b = source.tree(opts.base_commit)) base = std::move(*b);
        return render_in_child(**tree, opts, base.get());
    });
    return checked(std::move(answer), opts, commit);
}

Result<DesiredState> render_dir_isolated(const std::string &root, const RenderOptions &opts) {
    auto answer = run_sandboxed("render", SeccompProfile::render, render_limits(opts), [&]() -> Result<std::string> {
        auto tree = open_dir_tree(root);
        if (!tree) return fail(std::move(tree.error()));
        return render_in_child(**tree, opts);
    });
    return checked(std::move(answer), opts, "");
}

} // namespace fjord
