#pragma once
// A registry for image automation's tests: tags per repository name, digests made up.
#include "images/registry.hpp"
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fjord::test {

struct FakeRegistry final : RegistryClient {
    std::map<std::string, std::vector<std::string>> repos; ///< "127.0.0.1:5000/demo/bb" -> tags
    std::optional<Error> down;
    int list_calls = 0;
    Result<std::vector<std::string>> list_tags(const ImageRef &ref) override {
        ++list_calls;
        if (down) return fail(*down);
        auto it = repos.find(ref.name());
        if (it == repos.end())
            return fail(Errc::not_found, "registry " + ref.registry + ", image " + ref.repository + ": list tags: unknown repository (404)");
        return it->second;
    }
    Result<std::string> manifest_digest(const ImageRef &ref, const std::string &tag) override {
        return "sha256:digest-of-" + ref.repository + ":" + tag;
    }
};

} // namespace fjord::test
