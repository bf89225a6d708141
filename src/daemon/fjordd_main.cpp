// fjordd: the fjord agent. A thin main: arguments in, run_daemon out.
#include "daemon/daemon.hpp"
#include "util/parse.hpp"
#include "version.hpp"
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace {

int usage_error(const std::string &msg) {
    std::fprintf(stderr, "fjordd: %s\n%s", msg.c_str(), fjord::daemon_usage().c_str());
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    fjord::DaemonOptions opts;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!std::strcmp(a, "--config") && i + 1 < argc) opts.config_file = argv[++i];
        else if (!std::strncmp(a, "--config=", 9)) opts.config_file = a + 9;
        else if (!std::strcmp(a, "--once")) opts.once = true;
        else if (!std::strcmp(a, "--dry-run")) opts.dry_run = true;
        else if (!std::strcmp(a, "--recover")) opts.recover_only = true;
        else if (!std::strcmp(a, "--rollback") || !std::strncmp(a, "--rollback=", 11)) {
            // GEN is optional: the next word is GEN unless it is an option; absent, it is 0.
            bool inline_gen = a[10] == '=';
            std::string gen = inline_gen ? a + 11 : "";
            if (!inline_gen && i + 1 < argc && argv[i + 1][0] != '-') gen = argv[++i];
            std::uint64_t n = 0;
            if (inline_gen || !gen.empty()) {
                auto parsed = fjord::parse_uint(gen, 0, UINT64_MAX);
                if (!parsed) return usage_error("--rollback GEN: " + parsed.error().message);
                n = *parsed;
            }
            opts.rollback = n;
        } else if (!std::strcmp(a, "--version")) {
            std::printf("fjordd %s\n", FJORD_VERSION);
            return 0;
        } else if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
            std::fputs(fjord::daemon_usage().c_str(), stdout);
            return 0;
        } else {
            return usage_error(std::string("unknown argument ") + a);
        }
    }
    if (opts.rollback && (opts.once || opts.dry_run || opts.recover_only))
        return usage_error("--rollback goes alone (not with --once, --dry-run or --recover)");
    return fjord::run_daemon(opts);
}
