#include "apply/containers.hpp"

#include "manifest/container_toml.hpp"

namespace fjord {
namespace {

bool managed(const PodmanContainer &c) {
    auto it = c.labels.find(label_managed_by);
    return it != c.labels.end() && it->second == "fjord";
}

tl::unexpected<Error> not_ours(const std::string &name) {
    return fail(Errc::refused, "container " + name +
                                   ": a container of that name exists and was not made by fjord (no io.fjord.managed-by "
                                   "label); fjord leaves it alone: remove or rename it, or rename the spec");
}

// "host:5000/a/b:1.2" -> "host:5000/a/b"; "a/b@sha256:.." -> "a/b".
std::string repository(const std::string &ref) {
    std::string r = ref.substr(0, ref.find('@'));
    auto slash = r.rfind('/');
    auto colon = r.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) r.resize(colon);
    return r;
}

bool is_local(const std::string &ref) { return ref.rfind("localhost/", 0) == 0; }

// A pinned image is there, or is pulled by its digest (a rollback after the image was pruned).
Status ensure_image(Podman &podman, const std::string &name, const std::string &image) {
    auto img = podman.image(image);
    if (!img) return fail(img.error().context("container " + name));
    if (*img) return {};
    if (is_local(image) || image.find('@') == std::string::npos)
        return fail(Errc::io, "container " + name + ": image " + image + " not found on this host");
    if (auto s = podman.pull(image); !s) return fail(s.error().context("container " + name));
    return {};
}

Status stop_and_remove(Podman &podman, const std::string &name) {
    FJORD_TRY(podman.stop(name));
    return podman.remove(name);
}

Status converge_one(Podman &podman, const std::string &name, const AppliedContainer &want, const std::string &root) {
    auto cur = podman.inspect(name);
    if (!cur) return fail(std::move(cur.error()));
    if (*cur && !managed(**cur)) return not_ours(name);
    std::string hash = container_hash(want);
    if (*cur) {
        auto it = (*cur)->labels.find(label_spec);
        if (it != (*cur)->labels.end() && it->second == hash) return (*cur)->running ? Status{} : podman.start(name);
    }
    if (want.image.empty()) return fail(Errc::internal, "container " + name + ": no pinned image");
    FJORD_TRY(ensure_image(podman, name, want.image));
    std::string temp = name + container_temp_suffix;
    auto left = podman.inspect(temp);
    if (!left) return fail(std::move(left.error()));
    if (*left) {
        if (!managed(**left)) return not_ours(temp);
        FJORD_TRY(podman.remove(temp)); // left over from an interrupted replacement
    }
    PodmanCreate c{temp, want.image, &want.spec, want.spec.labels, {}};
    c.labels[label_managed_by] = "fjord";
    c.labels[label_spec] = hash;
    for (const auto &v : want.spec.volumes) c.volume_sources.push_back(volume_source(root, v.host));
    FJORD_TRY(podman.create(c));
    if (*cur) {
        if (auto s = stop_and_remove(podman, name); !s) {
            (void)podman.remove(temp);
            return s;
        }
    }
    FJORD_TRY(podman.rename(temp, name));
    return podman.start(name);
}

} // namespace

Result<std::string> resolve_image(Podman &podman, const std::string &ref) {
    if (is_local(ref)) {
        // Built or loaded on this host: there is no registry to pull from.
        auto img = podman.image(ref);
        if (!img) return fail(std::move(img.error()));
        if (!*img) return fail(Errc::io, "image " + ref + " not found on this host (localhost/ images are not pulled)");
        return (*img)->id;
    }
    if (ref.find("@sha256:") != std::string::npos) {
        FJORD_TRY(ensure_image(podman, ref, ref));
        return ref;
    }
    FJORD_TRY(podman.pull(ref));
    auto img = podman.image(ref);
    if (!img) return fail(std::move(img.error()));
    if (!*img) return fail(Errc::io, "image " + ref + ": pulled, but podman does not know it");
    std::string repo = repository(ref);
    std::vector<std::string> candidates;
    for (const auto &d : (*img)->repo_digests) {
        std::string r = d.substr(0, d.find('@'));
        // Short names ("nginx") come back qualified ("docker.io/library/nginx").
        if (r == repo || (r.size() > repo.size() && r.compare(r.size() - repo.size() - 1, std::string::npos, "/" + repo) == 0))
            candidates.push_back(d);
    }
    if (candidates.empty()) return fail(Errc::io, "image " + ref + ": no digest of " + repo + " known after the pull");
    if (candidates.size() == 1) return candidates[0];
    // An image also pushed or loaded under other manifests has several digests: the one the
    // registry serves is the one a later pull by digest finds.
    for (const auto &c : candidates)
        if (podman.pull(c)) return c;
    return fail(Errc::io, "image " + ref + ": none of its digests can be pulled again from the registry");
}

Status prepare_containers(Podman &podman, std::map<std::string, AppliedContainer> &next) {
    for (auto &[name, c] : next) {
        auto cur = podman.inspect(name);
        if (!cur) return fail(std::move(cur.error()));
        if (*cur && !managed(**cur)) return not_ours(name);
        if (!c.image.empty()) continue;
        auto pinned = resolve_image(podman, c.spec.image);
        if (!pinned) return fail(pinned.error().context("container " + name + " (" + c.spec.origin + ")"));
        c.image = *pinned;
    }
    return {};
}

std::string volume_source(const std::string &root, const std::string &host) {
    std::string r = root;
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    if (r.empty() || r == "/") return host;
    return host == "/" ? r : r + host;
}

Status converge_containers(Podman &podman, const std::map<std::string, AppliedContainer> &target,
                           const std::map<std::string, AppliedContainer> &others, const std::string &root) {
    for (const auto &[name, _] : others) {
        if (target.count(name)) continue;
        for (const std::string &n : {name + container_temp_suffix, name}) {
            auto cur = podman.inspect(n);
            if (!cur) return fail(std::move(cur.error()));
            if (!*cur || !managed(**cur)) continue; // gone already, or not ours to remove
            FJORD_TRY(stop_and_remove(podman, n));
        }
    }
    for (const auto &[name, want] : target) FJORD_TRY(converge_one(podman, name, want, root));
    return {};
}

} // namespace fjord
