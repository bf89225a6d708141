#pragma once
// The steps of a sync that read untrusted input, each in a sandboxed child (sandbox/sandbox.hpp):
// the poll (the server's ref advertisement) and the fetch (the pack) under the "fetch" filter,
// the ancestry check, the tree walk and rendering under the "render" filter. fjordd checks every
// answer again (manifest/validate.hpp) before it plans anything from it.
#include "config/config.hpp"
#include "manifest/desired_state.hpp"
#include "manifest/render.hpp"
#include "source/git_source.hpp"
#include "util/result.hpp"

namespace fjord {

/// GitSource::poll in a fetch child; the answer must name the followed branch, or a tag that
/// matches source.tag, and a 40-digit commit.
[[nodiscard]] Result<RemoteHead> poll_isolated(GitSource &source, const SourceConfig &cfg);
/// GitSource::fetch in a fetch child.
[[nodiscard]] Status fetch_isolated(GitSource &source, const RemoteHead &head);
/// GitSource::verify_refs in a render child (the cache's commits and trees are the remote's bytes).
[[nodiscard]] Status verify_isolated(GitSource &source);
/// GitSource::is_descendant in a render child.
[[nodiscard]] Result<bool> descends_isolated(GitSource &source, const std::string &commit, const std::string &ancestor);
/// render() of `commit` from the Git cache in a render child; the result is validated.
[[nodiscard]] Result<DesiredState> render_isolated(GitSource &source, const std::string &commit, const RenderOptions &opts);
/// render() of a folder on disk (fjordctl render, validate) in a render child; validated.
[[nodiscard]] Result<DesiredState> render_dir_isolated(const std::string &root, const RenderOptions &opts);

} // namespace fjord
