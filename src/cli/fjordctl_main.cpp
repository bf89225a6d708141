// fjordctl: the operator's CLI. A thin main.
#include "cli/cli.hpp"

int main(int argc, char **argv) { return fjord::run_cli(argc, argv); }
