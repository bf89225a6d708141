#include "plan/containers.hpp"

#include "manifest/desired_state_json.hpp"
#include "util/hash.hpp"
#include <nlohmann/json.hpp>

namespace fjord {

using json = nlohmann::json;

// One JSON form of a spec for the wire (manifest/desired_state_json.hpp) and the generation
// file; std::map members and nlohmann's sorted objects keep it canonical.
std::string container_spec_json(const ContainerSpec &s, bool for_identity) {
    json j = s;
    if (for_identity) {
        j.erase("update");
        j.erase("origin");
    }
    return j.dump();
}

Result<ContainerSpec> container_spec_from_json(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid, "container spec: not a JSON object");
    // A hand-edited or truncated record is refused, never half read (every key must be there).
    try {
        return j.get<ContainerSpec>();
    } catch (const std::exception &e) {
        return fail(Errc::invalid, std::string("container spec: ") + e.what());
    }
}

std::string container_hash(const AppliedContainer &c) {
    return blob_id(container_spec_json(c.spec, true) + "\n" + c.image).substr(0, 20);
}

bool same_container(const ContainerSpec &a, const ContainerSpec &b) {
    return container_spec_json(a, true) == container_spec_json(b, true);
}

std::vector<ContainerStep> plan_containers(const std::map<std::string, AppliedContainer> &prev,
                                           const std::map<std::string, ContainerSpec> &desired,
                                           const std::map<std::string, AppliedContainer> *pins,
                                           std::map<std::string, AppliedContainer> &next) {
    std::vector<ContainerStep> steps;
    next.clear();
    for (const auto &[name, _] : prev)
        if (!desired.count(name)) steps.push_back({ContainerChange::remove, name});
    for (const auto &[name, spec] : desired) {
        AppliedContainer c{spec, ""};
        auto old = prev.find(name);
        bool unchanged = old != prev.end() && same_container(old->second.spec, spec) && !old->second.image.empty();
        if (unchanged) {
            c.image = old->second.image;
        } else if (pins) {
            if (auto pin = pins->find(name); pin != pins->end() && same_container(pin->second.spec, spec)) c.image = pin->second.image;
        }
        if (!unchanged) steps.push_back({old == prev.end() ? ContainerChange::create : ContainerChange::replace, name});
        next.emplace(name, std::move(c));
    }
    return steps;
}

std::string describe(const ContainerStep &s, const std::map<std::string, AppliedContainer> &prev,
                     const std::map<std::string, AppliedContainer> &next) {
    auto shown = [](const AppliedContainer &c) { return c.image.empty() ? c.spec.image : c.image; };
    switch (s.kind) {
    case ContainerChange::create: return "container " + s.name + ": create " + shown(next.at(s.name));
    case ContainerChange::replace: {
        const auto &a = prev.at(s.name), &b = next.at(s.name);
        std::string why = a.spec.image != b.spec.image ? " (was " + shown(a) + ")" : " (spec changed)";
        return "container " + s.name + ": replace " + shown(b) + why;
    }
    case ContainerChange::remove: return "container " + s.name + ": remove " + shown(prev.at(s.name));
    }
    return "";
}

} // namespace fjord
