#pragma once
// Renders one host folder of a repo tree into a DesiredState, refusing bad input with an error
// that names the repo path and the reason (DESIGN.md §4, §7.5).
#include "manifest/desired_state.hpp"
#include "util/tree.hpp"
#include "util/result.hpp"
#include <functional>
#include <set>

namespace fjord {

/// Limits and facts rendering needs; filled from Config by the caller.
struct RenderOptions {
    std::string host_path = ".";            ///< source.path, expanded ("." = the repo root)
    std::uint64_t max_files = 100'000;
    std::uint64_t max_file_size = 64ull << 20;
    std::vector<std::string> protect;       ///< host paths never written (and everything below them)
    /// fjord's own files and folders (state.dir, keys, identity, config, socket): never written
    /// or mounted, whatever apply.protect says (config/own_paths.hpp).
    std::vector<std::string> own;
    /// Facts for templates, as tables: facts["host"] (name, machine_id, ipv4, ...) and
    /// facts["fjord"] (commit, generation). fjord.commit defaults to tree.commit().
    VarTable facts;
    /// Set last, over the merged [vars] (fjordctl render --var).
    VarTable var_overrides;
    /// When set, receives the names of facts that templates looked up ("fjord.generation"), so
    /// the caller knows what the rendered content depends on.
    std::set<std::string> *facts_used = nullptr;
    /// When set, every error found goes here and rendering goes on past it (every unknown key
    /// and bad value of each fjord.toml and containers/*.toml, every failing template, every
    /// undefined name in each), so fjordctl validate reports them all in file order, at most
    /// 100 a file and 1000 in all (util/diagnostics.hpp); the render still fails, with the
    /// first. Never set for an apply: a render for one stops at its first error.
    std::vector<Error> *template_errors = nullptr;
    /// True when blob `id` at host path `path` was checked before under the same limits, so its
    /// size need not be read again (a render costs a map lookup per unchanged file, not an I/O).
    std::function<bool(const std::string &path, const std::string &id)> vetted;
    /// Decrypts a files/**.age blob; its error names `origin`. The reconciler fills it from the
    /// host identity, so this layer stays pure. Unset (offline validate without the identity):
    /// secrets are taken undecrypted, and apply refuses them.
    std::function<Result<std::string>(std::string_view ciphertext, const std::string &origin)> decrypt;
    /// The keyed digest of a decrypted secret, kept in FileSpec::secret_mac for the drift pass.
    std::function<std::string(std::string_view plaintext)> secret_digest;
    /// Rendering only what changed: the commit the current generation was rendered from (under
    /// the same settings), and the host paths of its rendered templates. The sandboxed render
    /// opens that commit's tree and hands it to render() as `base`.
    std::string base_commit;
    std::vector<std::string> base_templates;
};

/// Renders the host folder `opts.host_path` of `tree`: its manifest fjord.toml (with includes
/// merged in order, the host last), files/, units/ and containers/.
/// With `base` (an earlier commit's tree, rendered before under the same options) whose include
/// chain has the same fjord.toml blobs, only the files/ paths that differ between the two trees
/// (folders with the same tree id are not opened) and every template of opts.base_templates
/// are walked and rendered: the result is partial (DesiredState::partial). Otherwise, or when
/// the base cannot be read, the render is whole.
[[nodiscard]] Result<DesiredState> render(const TreeView &tree, const RenderOptions &opts, const TreeView *base = nullptr);

/// Normalises a repo-relative path ("a//b/./c" -> "a/b/c", "." -> "" the root); refuses "", "..",
/// absolute paths and line breaks.
[[nodiscard]] Result<std::string> clean_relative_path(std::string_view p);

} // namespace fjord
