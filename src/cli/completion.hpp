#pragma once
// `fjordctl completion bash|zsh`: shell completion scripts made from the parser's own verbs and
// options (cli/args.hpp cli_info), so a completion never offers what fjordctl refuses. The
// build runs it to make the files the package installs.
#include "cli/args.hpp"
#include <string>

namespace fjord {

/// The bash completion script for fjordctl (bash-completion's _init_completion and _filedir).
[[nodiscard]] std::string bash_completion(const CliInfo &info);
/// The zsh completion script for fjordctl (#compdef, _arguments).
[[nodiscard]] std::string zsh_completion(const CliInfo &info);

} // namespace fjord
