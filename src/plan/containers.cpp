#include "plan/containers.hpp"

#include "util/hash.hpp"
#include <nlohmann/json.hpp>

namespace fjord {

using json = nlohmann::json;

std::string container_spec_json(const ContainerSpec &s, bool for_identity) {
    json j;
    j["name"] = s.name;
    j["image"] = s.image;
    j["command"] = s.command;
    j["env"] = s.env;
    j["ports"] = json::array();
    for (const auto &p : s.ports)
        j["ports"].push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"container_port", p.container_port},
                              {"protocol", p.protocol}});
    j["volumes"] = json::array();
    for (const auto &v : s.volumes) j["volumes"].push_back({{"host", v.host}, {"container", v.container}, {"ro", v.read_only}});
    j["memory"] = s.memory;
    j["cpus_milli"] = s.cpus_milli;
    j["restart"] = s.restart;
    j["labels"] = s.labels;
    if (s.healthcheck)
        j["healthcheck"] = {{"command", s.healthcheck->command}, {"interval_ms", s.healthcheck->interval_ms},
                            {"timeout_ms", s.healthcheck->timeout_ms}, {"retries", s.healthcheck->retries}};
    if (!for_identity) {
        j["update"] = s.update;
        j["origin"] = s.origin;
    }
    return j.dump(); // std::map and fixed key order: canonical
}

Result<ContainerSpec> container_spec_from_json(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid, "container spec: not a JSON object");
    ContainerSpec s;
    // A hand-edited or truncated record is refused, never half read.
    try {
        s.name = j.at("name").get<std::string>();
        s.image = j.at("image").get<std::string>();
        s.command = j.at("command").get<std::vector<std::string>>();
        s.env = j.at("env").get<std::map<std::string, std::string>>();
        for (const auto &p : j.at("ports"))
            s.ports.push_back({p.at("host_ip").get<std::string>(), p.at("host_port").get<std::uint16_t>(),
                               p.at("container_port").get<std::uint16_t>(), p.at("protocol").get<std::string>()});
        for (const auto &v : j.at("volumes"))
            s.volumes.push_back({v.at("host").get<std::string>(), v.at("container").get<std::string>(), v.at("ro").get<bool>()});
        s.memory = j.at("memory").get<std::uint64_t>();
        s.cpus_milli = j.at("cpus_milli").get<std::int64_t>();
        s.restart = j.at("restart").get<std::string>();
        s.labels = j.at("labels").get<std::map<std::string, std::string>>();
        if (j.contains("healthcheck")) {
            const auto &h = j.at("healthcheck");
            s.healthcheck = ContainerHealthSpec{h.at("command").get<std::vector<std::string>>(), h.at("interval_ms").get<std::int64_t>(),
                                                h.at("timeout_ms").get<std::int64_t>(), h.at("retries").get<std::int64_t>()};
        }
        s.update = j.value("update", "");
        s.origin = j.value("origin", "");
    } catch (const json::exception &e) {
        return fail(Errc::invalid, std::string("container spec: ") + e.what());
    }
    return s;
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
