// fjordd: the fjord agent. A thin main: arguments in, run_daemon out.
#include "daemon/daemon.hpp"
#include "version.hpp"
#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
    fjord::DaemonOptions opts;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!std::strcmp(a, "--config") && i + 1 < argc) opts.config_file = argv[++i];
        else if (!std::strncmp(a, "--config=", 9)) opts.config_file = a + 9;
        else if (!std::strcmp(a, "--once")) opts.once = true;
        else if (!std::strcmp(a, "--dry-run")) opts.dry_run = true;
        else if (!std::strcmp(a, "--recover")) opts.recover_only = true;
        else if (!std::strcmp(a, "--version")) {
            std::printf("fjordd %s\n", FJORD_VERSION);
            return 0;
        } else if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
            std::fputs(fjord::daemon_usage().c_str(), stdout);
            return 0;
        } else {
            std::fprintf(stderr, "fjordd: unknown argument %s\n%s", a, fjord::daemon_usage().c_str());
            return 2;
        }
    }
    return fjord::run_daemon(opts);
}
