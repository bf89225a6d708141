#pragma once
// fjordctl: the operator's verbs. Talks to fjordd over the control socket; verbs that read
// history and status also work from the state directory when fjordd is stopped.
namespace fjord {

/// Runs fjordctl; returns 0 success, 1 the operation failed, 2 usage or config error.
[[nodiscard]] int run_cli(int argc, char **argv);

} // namespace fjord
