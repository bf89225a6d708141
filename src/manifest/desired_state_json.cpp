#include "manifest/desired_state_json.hpp"

#include <nlohmann/json.hpp>

namespace fjord {
namespace {

using json = nlohmann::json;

// A field forgotten here fails tests/manifest/desired_state_json_test.cpp (a round trip of a
// DesiredState with every field set, compared with ==).
template <class T> void get(const json &j, const char *key, T &out) { j.at(key).get_to(out); }

// CBOR nesting of a DesiredState is 5 deep, plus 2 a level of nested [vars] tables or lists;
// the reader recurses per level, so a hostile child must not be able to nest 64 MiB deep and
// overflow fjordd's stack.
constexpr std::size_t max_depth = 40;

struct BoundedDom : nlohmann::detail::json_sax_dom_parser<json> {
    using base = nlohmann::detail::json_sax_dom_parser<json>;
    explicit BoundedDom(json &root) : base(root, true) {}
    std::size_t depth = 0;
    bool start_object(std::size_t n) { return ++depth <= max_depth && base::start_object(n); }
    bool end_object() { return --depth, base::end_object(); }
    bool start_array(std::size_t n) { return ++depth <= max_depth && base::start_array(n); }
    bool end_array() { return --depth, base::end_array(); }
};

} // namespace

void to_json(json &j, const FileSpec &f) {
    j = json{{"path", f.path}, {"kind", f.kind == FileKind::symlink ? "symlink" : "file"}, {"id", f.id},
             {"target", f.target}, {"mode", f.mode}, {"owner", f.owner}, {"group", f.group}, {"origin", f.origin},
             {"validate", f.validate}, {"secret", f.secret}, {"secret_mac", f.secret_mac}};
}

void from_json(const json &j, FileSpec &f) {
    get(j, "path", f.path);
    const auto &kind = j.at("kind").get_ref<const std::string &>();
    if (kind != "file" && kind != "symlink") throw std::invalid_argument("unknown file kind " + kind);
    f.kind = kind == "symlink" ? FileKind::symlink : FileKind::file;
    get(j, "id", f.id);
    get(j, "target", f.target);
    get(j, "mode", f.mode);
    get(j, "owner", f.owner);
    get(j, "group", f.group);
    get(j, "origin", f.origin);
    get(j, "validate", f.validate);
    get(j, "secret", f.secret);
    get(j, "secret_mac", f.secret_mac);
}

void to_json(json &j, const UnitSpec &u) {
    j = json{{"name", u.name}, {"id", u.id}, {"dropins", u.dropins}, {"origin", u.origin}, {"enable", u.enable},
             {"state", u.state}, {"on_change", u.on_change}, {"watch", u.watch}, {"pre_restart", u.pre_restart},
             {"memory", u.memory}, {"cpu", u.cpu}};
}

void from_json(const json &j, UnitSpec &u) {
    get(j, "name", u.name);
    get(j, "id", u.id);
    get(j, "dropins", u.dropins);
    get(j, "origin", u.origin);
    get(j, "enable", u.enable);
    get(j, "state", u.state);
    get(j, "on_change", u.on_change);
    get(j, "watch", u.watch);
    get(j, "pre_restart", u.pre_restart);
    get(j, "memory", u.memory);
    get(j, "cpu", u.cpu);
}

void to_json(json &j, const HookSpec &h) { j = json{{"when", h.when}, {"exec", h.exec}, {"timeout_ms", h.timeout_ms}}; }

void from_json(const json &j, HookSpec &h) {
    get(j, "when", h.when);
    get(j, "exec", h.exec);
    get(j, "timeout_ms", h.timeout_ms);
}

void to_json(json &j, const CheckSpec &c) {
    j = json{{"name", c.name},
             {"http", c.http},
             {"tcp", c.tcp},
             {"unit", c.unit},
             {"container", c.container},
             {"exec", c.exec},
             {"expect_status", c.expect_status},
             {"expect_body", c.expect_body},
             {"initial_delay_ms", c.initial_delay_ms},
             {"period_ms", c.period_ms},
             {"timeout_ms", c.timeout_ms},
             {"failure_threshold", c.failure_threshold}};
}

void from_json(const json &j, CheckSpec &c) {
    get(j, "name", c.name);
    get(j, "http", c.http);
    get(j, "tcp", c.tcp);
    get(j, "unit", c.unit);
    get(j, "container", c.container);
    get(j, "exec", c.exec);
    get(j, "expect_status", c.expect_status);
    get(j, "expect_body", c.expect_body);
    get(j, "initial_delay_ms", c.initial_delay_ms);
    get(j, "period_ms", c.period_ms);
    get(j, "timeout_ms", c.timeout_ms);
    get(j, "failure_threshold", c.failure_threshold);
}

void to_json(json &j, const PortSpec &p) {
    j = json{{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"container_port", p.container_port}, {"protocol", p.protocol}};
}

void from_json(const json &j, PortSpec &p) {
    get(j, "host_ip", p.host_ip);
    get(j, "host_port", p.host_port);
    get(j, "container_port", p.container_port);
    get(j, "protocol", p.protocol);
}

void to_json(json &j, const VolumeSpec &v) { j = json{{"host", v.host}, {"container", v.container}, {"read_only", v.read_only}}; }

void from_json(const json &j, VolumeSpec &v) {
    get(j, "host", v.host);
    get(j, "container", v.container);
    get(j, "read_only", v.read_only);
}

void to_json(json &j, const ContainerHealthSpec &h) {
    j = json{{"command", h.command}, {"interval_ms", h.interval_ms}, {"timeout_ms", h.timeout_ms}, {"retries", h.retries}};
}

void from_json(const json &j, ContainerHealthSpec &h) {
    get(j, "command", h.command);
    get(j, "interval_ms", h.interval_ms);
    get(j, "timeout_ms", h.timeout_ms);
    get(j, "retries", h.retries);
}

void to_json(json &j, const ContainerSpec &c) {
    j = json{{"name", c.name},       {"image", c.image},           {"command", c.command},       {"env", c.env},
             {"ports", c.ports},     {"volumes", c.volumes},       {"memory", c.memory},         {"cpus_milli", c.cpus_milli},
             {"restart", c.restart}, {"labels", c.labels},         {"update", c.update},         {"origin", c.origin},
             {"healthcheck", c.healthcheck ? json(*c.healthcheck) : json(nullptr)}};
}

void from_json(const json &j, ContainerSpec &c) {
    get(j, "name", c.name);
    get(j, "image", c.image);
    get(j, "command", c.command);
    get(j, "env", c.env);
    get(j, "ports", c.ports);
    get(j, "volumes", c.volumes);
    get(j, "memory", c.memory);
    get(j, "cpus_milli", c.cpus_milli);
    get(j, "restart", c.restart);
    get(j, "labels", c.labels);
    get(j, "update", c.update);
    get(j, "origin", c.origin);
    const auto &h = j.at("healthcheck");
    if (h.is_null()) c.healthcheck.reset();
    else c.healthcheck = h.get<ContainerHealthSpec>();
}

void to_json(json &j, const VarValue &v) {
    static constexpr const char *kinds[] = {"string", "number", "boolean", "list", "table"};
    // Element by element: nlohmann's container conversions cannot see through the recursive
    // type under clang (VarValue holds vectors and maps of itself).
    json items = json::array(), fields = json::object();
    for (const auto &i : v.items) to_json(items.emplace_back(), i);
    for (const auto &[k, f] : v.fields) to_json(fields[k], f);
    j = json{{"kind", kinds[static_cast<int>(v.kind)]}, {"text", v.text}, {"items", std::move(items)}, {"fields", std::move(fields)}};
}

void from_json(const json &j, VarValue &v) {
    const auto &kind = j.at("kind").get_ref<const std::string &>();
    if (kind == "string") v.kind = VarValue::Kind::string;
    else if (kind == "number") v.kind = VarValue::Kind::number;
    else if (kind == "boolean") v.kind = VarValue::Kind::boolean;
    else if (kind == "list") v.kind = VarValue::Kind::list;
    else if (kind == "table") v.kind = VarValue::Kind::table;
    else throw std::invalid_argument("unknown var kind " + kind);
    get(j, "text", v.text);
    v.items.clear();
    v.fields.clear();
    for (const auto &i : j.at("items")) from_json(i, v.items.emplace_back());
    const auto &fields = j.at("fields");
    if (!fields.is_object()) throw std::invalid_argument("var fields are not an object");
    for (const auto &[k, f] : fields.items()) from_json(f, v.fields[k]);
}

void to_json(json &j, const DesiredState &d) {
    // Blob content is bytes (a rendered template need not be UTF-8): CBOR byte strings.
    json blobs = json::object();
    for (const auto &[id, content] : d.blobs) blobs[id] = json::binary(std::vector<std::uint8_t>(content.begin(), content.end()));
    json vars = json::object();
    for (const auto &[k, v] : d.vars) to_json(vars[k], v);
    j = json{{"commit", d.commit}, {"files", d.files},           {"blobs", std::move(blobs)}, {"vars", std::move(vars)},
             {"units", d.units},   {"containers", d.containers}, {"hooks", d.hooks},          {"checks", d.checks},
             {"includes", d.includes}};
}

void from_json(const json &j, DesiredState &d) {
    get(j, "commit", d.commit);
    get(j, "files", d.files);
    d.blobs.clear();
    for (const auto &[id, content] : j.at("blobs").items()) {
        const auto &bin = content.get_binary();
        d.blobs.emplace(id, std::string(bin.begin(), bin.end()));
    }
    d.vars.clear();
    const auto &vars = j.at("vars");
    if (!vars.is_object()) throw std::invalid_argument("vars are not an object");
    for (const auto &[k, v] : vars.items()) from_json(v, d.vars[k]);
    get(j, "units", d.units);
    get(j, "containers", d.containers);
    get(j, "hooks", d.hooks);
    get(j, "checks", d.checks);
    get(j, "includes", d.includes);
}

std::string encode_desired(const DesiredState &d) {
    std::string out;
    json::to_cbor(json(d), nlohmann::detail::output_adapter<char>(out));
    return out;
}

Result<DesiredState> decode_desired(std::string_view bytes) {
    try {
        json j;
        BoundedDom sax(j);
        if (!json::sax_parse(bytes.begin(), bytes.end(), &sax, json::input_format_t::cbor, true))
            return fail(Errc::invalid, "desired state: nested deeper than " + std::to_string(max_depth) + " levels");
        if (!j.is_object()) return fail(Errc::invalid, "desired state: not an object");
        return j.get<DesiredState>();
    } catch (const std::exception &e) {
        return fail(Errc::invalid, std::string("desired state: ") + e.what());
    }
}

} // namespace fjord
