#pragma once
// An in-memory podman for unit tests of the container logic: a registry of tags and digests,
// local images, containers with labels and state, a log of every call, and failures on demand.
#include "host/podman.hpp"
#include <set>

namespace fjord::test {

class FakePodman : public Podman {
  public:
    struct Box {
        std::string image;
        std::map<std::string, std::string> labels;
        bool running = false;
        ContainerSpec spec;
    };
    std::map<std::string, std::string> registry;  ///< "repo:tag" -> "sha256:..." (what the registry serves)
    std::map<std::string, PodmanImage> images;    ///< local images by every reference they are known by
    std::map<std::string, Box> boxes;             ///< containers by name
    std::map<std::string, std::vector<std::string>> sources; ///< volume sources of each create, by name
    std::vector<std::string> log;                 ///< "pull X", "create N", "stop N", ...
    std::set<std::string> failing;                ///< calls ("create web", "start web") that fail
    bool down = false;                            ///< the socket is gone
    std::map<std::string, std::string> health;    ///< name -> healthcheck answer ("healthy" when absent)
    std::map<std::string, std::string> local_digests; ///< "repo:tag" -> another "repo@digest" the image also has (pushed from here)

    /// A container fjord did not make.
    void foreign(const std::string &name) { boxes[name] = Box{"other:1", {{"team", "x"}}, true, {}}; }

    Status pull(const std::string &ref) override {
        FJORD_TRY(call("pull " + ref));
        std::string repo = ref.substr(0, ref.find('@'));
        std::string digest;
        if (auto at = ref.find('@'); at != std::string::npos) {
            digest = ref.substr(at + 1);
            bool served = false;
            for (const auto &[tag, d] : registry) served = served || (tag.substr(0, tag.rfind(':')) == repo && d == digest);
            if (!served) return fail(Errc::network, "pull " + ref + ": manifest unknown");
        } else {
            auto it = registry.find(ref);
            if (it == registry.end()) return fail(Errc::network, "pull " + ref + ": manifest unknown");
            digest = it->second;
            repo = ref.substr(0, ref.rfind(':'));
        }
        PodmanImage img{"id-" + digest.substr(7), {repo + "@" + digest}};
        images[repo + "@" + digest] = img;
        if (auto l = local_digests.find(ref); l != local_digests.end()) img.repo_digests.insert(img.repo_digests.begin(), l->second);
        if (ref.find('@') == std::string::npos) images[ref] = img;
        return {};
    }
    Result<std::optional<PodmanImage>> image(const std::string &ref) override {
        FJORD_TRY(call("", false));
        auto it = images.find(ref);
        if (it == images.end()) return std::optional<PodmanImage>{};
        return std::optional<PodmanImage>{it->second};
    }
    Result<std::optional<PodmanContainer>> inspect(const std::string &name) override {
        FJORD_TRY(call("", false));
        auto it = boxes.find(name);
        if (it == boxes.end()) return std::optional<PodmanContainer>{};
        PodmanContainer c;
        c.name = name;
        c.running = it->second.running;
        c.state = c.running ? "running" : "exited";
        c.labels = it->second.labels;
        return std::optional<PodmanContainer>{c};
    }
    Status create(const PodmanCreate &c) override {
        FJORD_TRY(call("create " + c.name + " " + c.image));
        if (boxes.count(c.name)) return fail(Errc::io, "container " + c.name + ": create: name in use");
        if (!images.count(c.image)) return fail(Errc::io, "container " + c.name + ": image " + c.image + " not found");
        boxes[c.name] = Box{c.image, c.labels, false, *c.spec};
        sources[c.name] = c.volume_sources;
        return {};
    }
    Status start(const std::string &name) override {
        FJORD_TRY(call("start " + name));
        if (!exists(name)) return missing(name);
        boxes[name].running = true;
        return {};
    }
    Status stop(const std::string &name) override {
        FJORD_TRY(call("stop " + name));
        if (!exists(name)) return missing(name);
        boxes[name].running = false;
        return {};
    }
    Status remove(const std::string &name) override {
        FJORD_TRY(call("remove " + name));
        if (!boxes.erase(name)) return missing(name);
        return {};
    }
    Status rename(const std::string &from, const std::string &to) override {
        FJORD_TRY(call("rename " + from + " " + to));
        if (!exists(from)) return missing(from);
        if (exists(to)) return fail(Errc::io, "rename: " + to + " in use");
        boxes[to] = boxes[from];
        boxes.erase(from);
        return {};
    }
    Result<std::string> healthcheck(const std::string &name) override {
        FJORD_TRY(call("healthcheck " + name, false));
        if (!exists(name)) return missing(name);
        auto it = health.find(name);
        return it == health.end() ? std::string("healthy") : it->second;
    }

  private:
    Status call(const std::string &what, bool logged = true) {
        if (down) return fail(Errc::io, "podman socket /run/podman/podman.sock: cannot connect");
        if (logged && !what.empty()) log.push_back(what);
        for (const auto &f : failing)
            if (what.rfind(f, 0) == 0) return fail(Errc::io, what + ": failed on purpose");
        return {};
    }
    bool exists(const std::string &n) const { return boxes.count(n) > 0; }
    tl::unexpected<Error> missing(const std::string &n) const { return fail(Errc::not_found, "no container " + n); }
};

} // namespace fjord::test
