// A small driver for tests/integration/source_servers.sh: opens a GitSource from flags, polls
// and fetches, and prints "commit ID ref REF" or "error[CLASS]: MESSAGE" (exit 1).
// --polls N repeats the poll, for watching memory over many polls (valgrind, RSS).
// --isolated 1 polls and fetches as fjordd does: in the sandboxed children (sandbox/isolated.hpp).
#include "sandbox/isolated.hpp"
#include "source/git_source.hpp"

#include <cstdio>
#include <cstring>
#include <string>

using namespace fjord;

namespace {

int usage() {
    std::fprintf(stderr, "usage: source_probe --url URL --cache DIR [--branch B | --tag GLOB] [--ssh-key FILE]\n"
                         "                    [--known-hosts FILE] [--token-file FILE] [--polls N] [--isolated 1]\n");
    return 2;
}

int report(const Error &e) {
    std::printf("error[%s]: %s\n", to_string(e.code), e.message.c_str());
    return 1;
}

long rss_kib() {
    long kib = -1;
    if (FILE *f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f))
            if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
        std::fclose(f);
    }
    return kib;
}

} // namespace

int main(int argc, char **argv) {
    SourceConfig cfg;
    std::string cache;
    long polls = 1;
    bool isolated = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        std::string v = argv[++i];
        if (a == "--url") cfg.url = v;
        else if (a == "--cache") cache = v;
        else if (a == "--branch") cfg.branch = v;
        else if (a == "--tag") cfg.tag = v;
        else if (a == "--ssh-key") cfg.ssh_key = v;
        else if (a == "--known-hosts") cfg.known_hosts = v;
        else if (a == "--token-file") cfg.token_file = v;
        else if (a == "--polls") polls = std::strtol(v.c_str(), nullptr, 10);
        else if (a == "--isolated") isolated = v == "1";
        else return usage();
    }
    if (cfg.url.empty() || cache.empty() || polls < 1) return usage();

    auto src = GitSource::open(cfg, cache);
    if (!src) return report(src.error());
    auto poll = [&] { return isolated ? poll_isolated(**src, cfg) : (*src)->poll(); };
    Result<RemoteHead> head = poll();
    long rss_first = rss_kib();
    for (long i = 1; i < polls && head; ++i) head = poll();
    if (!head) return report(head.error());
    if (polls > 1) std::printf("polls %ld rss_kib_after_first %ld rss_kib_after_last %ld\n", polls, rss_first, rss_kib());
    if (auto ok = isolated ? fetch_isolated(**src, *head) : (*src)->fetch(*head); !ok) return report(ok.error());
    if (auto tree = (*src)->tree(head->commit); !tree) return report(tree.error());
    std::printf("commit %s ref %s\n", head->commit.c_str(), head->ref.c_str());
    return 0;
}
