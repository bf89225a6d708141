// Driver for tests/integration/ls_refs.sh: lists refs under prefixes of a real Git server
// through fleet::ls_refs (in process) or ls_refs_isolated (the sandboxed child fjordd uses).
// Prints "v2 BYTES" (or v0) and then "ID REF" lines; an error goes to stderr with exit 1.
#include "sandbox/ls_refs_isolated.hpp"

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char **argv) {
    fjord::fleet::LsRefsRequest req;
    bool isolated = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--url") req.url = v;
        else if (k == "--prefix") req.prefixes.push_back(v);
        else if (k == "--key") req.ssh_key = v;
        else if (k == "--known-hosts") req.known_hosts = v;
        else if (k == "--isolated") isolated = v == "1";
        else if (k == "--timeout-ms") req.timeout = std::chrono::milliseconds(std::stoll(v));
        else if (k == "--max-bytes") req.max_bytes = std::stoull(v);
        else if (k == "--max-refs") req.max_refs = std::stoull(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    auto a = isolated ? fjord::ls_refs_isolated(req) : fjord::fleet::ls_refs(req);
    if (!a) {
        std::fprintf(stderr, "error: %s\n", a.error().message.c_str());
        return 1;
    }
    std::printf("%s %llu\n", a->v0 ? "v0" : "v2", static_cast<unsigned long long>(a->bytes_read));
    for (const auto &[ref, id] : a->refs) std::printf("%s %s\n", id.c_str(), ref.c_str());
    return 0;
}
