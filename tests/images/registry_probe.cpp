// A small driver for tests/integration/registry.sh: fjord's registry client and image update
// logic against a real registry, from the shell. Not installed.
//   registry_probe [OPTIONS] tags IMAGE                 one tag a line
//   registry_probe [OPTIONS] digest IMAGE               the manifest digest of IMAGE's tag
//   registry_probe [OPTIONS] pick POLICY IMAGE [BAD…]   "tag T digest D", or "none"
//   registry_probe [OPTIONS] check STATE NAME IMAGE POLICY   check_image_updates with the
//                  store in folder STATE: "update SUMMARY digest D" a line, or "no update"
//   registry_probe mark-bad STATE NAME TAG
// OPTIONS: --auth-file FILE (podman's auth.json), --page-size N, --max-pages N, --timeout-ms N.
// Errors print "error[CLASS]: MESSAGE" and exit 1; usage errors exit 2.
#include "images/image_updates.hpp"
#include "images/registry.hpp"
#include "images/tag_policy.hpp"
#include "util/fs.hpp"

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

using namespace fjord;

namespace {

int report(const Error &e) {
    std::printf("error[%s]: %s\n", to_string(e.code), e.message.c_str());
    return 1;
}

int usage() {
    std::fprintf(stderr, "usage: registry_probe [--auth-file F] [--page-size N] [--max-pages N] [--timeout-ms N] "
                         "tags IMAGE | digest IMAGE | pick POLICY IMAGE [BAD...] | check STATE NAME IMAGE POLICY\n"
                         "       registry_probe mark-bad STATE NAME TAG\n");
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    RegistryOptions opt;
    std::size_t i = 0;
    for (; i + 1 < args.size() && args[i].rfind("--", 0) == 0; i += 2) {
        if (args[i] == "--auth-file") {
            auto text = read_file(args[i + 1]);
            if (!text) return report(text.error());
            auto creds = parse_registry_auth(*text, args[i + 1]);
            if (!creds) return report(creds.error());
            opt.credentials = std::move(*creds);
        } else if (args[i] == "--page-size") {
            opt.page_size = std::stoi(args[i + 1]);
        } else if (args[i] == "--max-pages") {
            opt.max_pages = std::stoi(args[i + 1]);
        } else if (args[i] == "--timeout-ms") {
            opt.timeout = opt.connect_timeout = std::chrono::milliseconds(std::stoi(args[i + 1]));
        } else {
            return usage();
        }
    }
    args.erase(args.begin(), args.begin() + static_cast<long>(i));
    if (args.empty()) return usage();
    const std::string cmd = args[0];
    auto client = make_registry_client(opt);

    if ((cmd == "tags" || cmd == "digest") && args.size() == 2) {
        auto ref = parse_image_ref(args[1]);
        if (!ref) return report(ref.error());
        if (cmd == "digest") {
            auto d = client->manifest_digest(*ref, ref->tag);
            if (!d) return report(d.error());
            std::printf("%s\n", d->c_str());
            return 0;
        }
        auto tags = client->list_tags(*ref);
        if (!tags) return report(tags.error());
        for (const auto &t : *tags) std::printf("%s\n", t.c_str());
        return 0;
    }
    if (cmd == "pick" && args.size() >= 3) {
        auto policy = parse_tag_policy(args[1]);
        if (!policy) return report(policy.error());
        auto ref = parse_image_ref(args[2]);
        if (!ref) return report(ref.error());
        auto tags = client->list_tags(*ref);
        if (!tags) return report(tags.error());
        std::set<std::string> bad(args.begin() + 3, args.end());
        auto best = newest_matching(*policy, *tags, bad);
        if (!best) {
            std::printf("none\n");
            return 0;
        }
        auto d = client->manifest_digest(*ref, *best);
        if (!d) return report(d.error());
        std::printf("tag %s digest %s\n", best->c_str(), d->c_str());
        return 0;
    }
    if ((cmd == "check" && args.size() == 5) || (cmd == "mark-bad" && args.size() == 4)) {
        auto store = ImageUpdateStore::load(args[1]);
        if (!store) return report(store.error());
        if (!store->warning().empty()) std::printf("warning: %s\n", store->warning().c_str());
        if (cmd == "mark-bad") {
            store->mark_bad(args[2], args[3]);
        } else {
            auto c = check_image_updates(*store, {{args[2], args[3], args[4]}}, *client, std::time(nullptr));
            for (const auto &u : c.updates) std::printf("update %s digest %s\n", u.summary().c_str(), u.digest.c_str());
            for (const auto &e : c.errors) report(e);
            if (c.updates.empty() && c.errors.empty()) std::printf("no update\n");
            if (!c.errors.empty()) {
                if (auto s = store->save(); !s) return report(s.error());
                return 1;
            }
        }
        if (auto s = store->save(); !s) return report(s.error());
        return 0;
    }
    return usage();
}
