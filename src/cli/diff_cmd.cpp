#include "cli/diff_cmd.hpp"

#include "apply/preview.hpp"
#include "apply/store.hpp"
#include "cli/secrets_cmd.hpp"
#include "cli/tty.hpp"
#include "config/own_paths.hpp"
#include "facts/host_facts.hpp"
#include "facts/render_options.hpp"
#include "sandbox/isolated.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include <cstdio>
#include <filesystem>
#include <map>

namespace fjord {
namespace {

/// The checkout's files by blob id, read where the render found them (bounded, and checked
/// against their id: a file edited meanwhile is not shown as what was planned).
struct CheckoutBlobs : BlobReader {
    std::string root;
    std::map<std::string, std::string> origin_of;
    Result<std::string> read_blob(const std::string &id, std::uint64_t max) const override {
        auto it = origin_of.find(id);
        if (it == origin_of.end()) return fail(Errc::not_found, "content " + id + " is not in the checkout");
        auto data = read_file(root + "/" + it->second, max);
        if (!data) return data;
        if (blob_id(*data) != id) return fail(Errc::invalid, it->second + " changed while it was previewed");
        return data;
    }
};

} // namespace

int run_diff_local(const Config &cfg, const std::string &dir, bool stat, bool exit_code) {
    const int error = exit_code ? 2 : 1;
    auto failed = [&](const std::string &msg) {
        std::fprintf(stderr, "fjordctl: diff --local: %s\n", tty_lines(msg).c_str());
        return error;
    };
    std::error_code ec;
    std::string root = std::filesystem::absolute(dir, ec).lexically_normal().string();
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    if (ec || !std::filesystem::is_directory(root, ec)) return failed(dir + ": not a folder");
    std::string host_path = cfg.source.path.empty() ? "." : cfg.source.path;
    if (!std::filesystem::is_directory(root + "/" + host_path, ec))
        return failed(dir + ": has no host folder " + host_path + " (source.path in " + cfg.file + ")");

    // What is applied now: the current generation (none yet: an empty one) and the live host.
    auto store = Store::open_existing(cfg.state.dir);
    if (!store) return failed(store.error().message);
    auto cur_n = store->current();
    if (!cur_n) return failed(cur_n.error().message);
    Generation cur;
    if (*cur_n != 0) {
        auto g = store->load(*cur_n);
        if (!g) return failed(g.error().message);
        cur = std::move(*g);
    }
    auto fs = RootedFs::open(cfg.apply.root);
    if (!fs) return failed(fs.error().message);

    // The checkout rendered as fjordd would render a commit of it, on this host, as "local".
    RenderOptions ro = render_options(cfg);
    ro.host_path = host_path;
    ro.facts = host_facts();
    set_var(ro.facts, "fjord.commit", VarValue::string("local"));
    set_var(ro.facts, "fjord.generation", VarValue::number(std::to_string(*cur_n + 1)));
    // Secrets are decrypted only as a render checks them; the preview never shows a byte.
    std::string undecrypted = offline_secrets(cfg, ro);
    auto desired = render_dir_isolated(root, ro);
    if (!desired) return failed(desired.error().message);

    auto plan = make_plan(cur, *desired, *fs, PlanOptions{cfg.apply.prune, cfg.apply.protect, own_host_paths(cfg)});
    if (!plan) return failed(plan.error().message);
    std::string refusal;
    if (auto s = check_plan(*plan, *desired, cfg.apply.max_deletions, cfg.apply.max_deletions); !s) refusal = s.error().message;

    CheckoutBlobs blobs;
    blobs.root = root;
    for (const auto &[path, spec] : desired->files)
        if (spec.kind == FileKind::file && !spec.secret) blobs.origin_of.emplace(spec.id, spec.origin);
    // As fjordd's previews: "changes" is what --stat lists (a plan of only [[check]]s lists nothing).
    std::string lines = describe(*plan, cur);
    std::string text = stat ? lines : preview(*plan, cur, *desired, PreviewSources{*fs, &*store, &blobs, "local"});
    std::fputs(tty_lines(text).c_str(), stdout);
    std::printf("%s\n", lines.empty() ? "local: nothing would change" : ("local: the plan for " + tty(dir)).c_str());
    if (!undecrypted.empty()) std::printf("(secrets not decrypted: %s)\n", tty(undecrypted).c_str());
    if (!refusal.empty()) {
        std::printf("would be refused: %s\n", tty_lines(refusal).c_str());
        return refused_preview;
    }
    return exit_code && !lines.empty() ? 1 : 0;
}

} // namespace fjord
