#pragma once
// fjordctl: the operator's verbs. Talks to fjordd over the control socket; verbs that read
// history and status also work from the state directory when fjordd is stopped.
namespace fjord {

/// Runs fjordctl; returns 0 success, 1 the operation failed, 2 usage or config error, 3 a preview
/// of a commit an apply would refuse (diff --exit-code: 1 changes, 2 any error).
[[nodiscard]] int run_cli(int argc, char **argv);

} // namespace fjord
