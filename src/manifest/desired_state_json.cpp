#include "manifest/desired_state_json.hpp"

#include <concepts>
#include <nlohmann/json.hpp>
#include <type_traits>

namespace fjord {
namespace {

using json = nlohmann::json;

// A field forgotten here fails tests/manifest/desired_state_json_test.cpp (a round trip of a
// DesiredState with every field set, compared with ==).
template <class T> void get(const json &j, const char *key, T &out) { j.at(key).get_to(out); }

// The keys of each struct that maps onto JSON member by member, named once for both
// directions: `fields` hands every (key, member) to `f`, which writes it (to_json) or reads it
// back (from_json, strictly, in this order). S is the struct, const or not.
template <class T, class S> concept either = std::same_as<std::remove_const_t<T>, S>;

// All but kind, a name for the enum.
void fields(either<FileSpec> auto &x, auto &&f) {
    f("path", x.path), f("id", x.id), f("target", x.target), f("mode", x.mode), f("owner", x.owner), f("group", x.group);
    f("origin", x.origin), f("validate", x.validate), f("secret", x.secret), f("secret_mac", x.secret_mac);
}
void fields(either<UnitSpec> auto &u, auto &&f) {
    f("name", u.name), f("id", u.id), f("dropins", u.dropins), f("origin", u.origin), f("enable", u.enable);
    f("state", u.state), f("on_change", u.on_change), f("watch", u.watch), f("pre_restart", u.pre_restart);
    f("memory", u.memory), f("cpu", u.cpu);
}
void fields(either<HookSpec> auto &h, auto &&f) { f("when", h.when), f("exec", h.exec), f("timeout_ms", h.timeout_ms); }
void fields(either<CheckSpec> auto &c, auto &&f) {
    f("name", c.name), f("http", c.http), f("tcp", c.tcp), f("unit", c.unit), f("container", c.container);
    f("exec", c.exec), f("expect_status", c.expect_status), f("expect_body", c.expect_body);
    f("initial_delay_ms", c.initial_delay_ms), f("period_ms", c.period_ms), f("timeout_ms", c.timeout_ms);
    f("failure_threshold", c.failure_threshold);
}
void fields(either<PortSpec> auto &p, auto &&f) {
    f("host_ip", p.host_ip), f("host_port", p.host_port), f("container_port", p.container_port), f("protocol", p.protocol);
}
void fields(either<VolumeSpec> auto &v, auto &&f) { f("host", v.host), f("container", v.container), f("read_only", v.read_only); }
void fields(either<ContainerHealthSpec> auto &h, auto &&f) {
    f("command", h.command), f("interval_ms", h.interval_ms), f("timeout_ms", h.timeout_ms), f("retries", h.retries);
}
// All but healthcheck, an optional: null when absent.
void fields(either<ContainerSpec> auto &c, auto &&f) {
    f("name", c.name), f("image", c.image), f("command", c.command), f("env", c.env), f("ports", c.ports);
    f("volumes", c.volumes), f("memory", c.memory), f("cpus_milli", c.cpus_milli), f("restart", c.restart);
    f("labels", c.labels), f("update", c.update), f("origin", c.origin);
}

// All but blobs (bytes) and vars (recursive), written by hand.
void fields(either<DesiredState> auto &d, auto &&f) {
    f("commit", d.commit), f("files", d.files), f("units", d.units), f("containers", d.containers), f("hooks", d.hooks);
    f("checks", d.checks), f("includes", d.includes), f("partial", d.partial), f("touched", d.touched);
}

template <class S> void write_fields(json &j, const S &s) {
    j = json::object();
    fields(s, [&](const char *key, const auto &v) { j[key] = v; });
}
template <class S> void read_fields(const json &j, S &s) {
    fields(s, [&](const char *key, auto &v) { get(j, key, v); });
}

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
    write_fields(j, f);
    j["kind"] = f.kind == FileKind::symlink ? "symlink" : "file";
}

void from_json(const json &j, FileSpec &f) {
    const auto &kind = j.at("kind").get_ref<const std::string &>();
    if (kind != "file" && kind != "symlink") throw std::invalid_argument("unknown file kind " + kind);
    f.kind = kind == "symlink" ? FileKind::symlink : FileKind::file;
    read_fields(j, f);
}

void to_json(json &j, const UnitSpec &u) { write_fields(j, u); }
void from_json(const json &j, UnitSpec &u) { read_fields(j, u); }

void to_json(json &j, const HookSpec &h) { write_fields(j, h); }
void from_json(const json &j, HookSpec &h) { read_fields(j, h); }

void to_json(json &j, const CheckSpec &c) { write_fields(j, c); }
void from_json(const json &j, CheckSpec &c) { read_fields(j, c); }

void to_json(json &j, const PortSpec &p) { write_fields(j, p); }
void from_json(const json &j, PortSpec &p) { read_fields(j, p); }

void to_json(json &j, const VolumeSpec &v) { write_fields(j, v); }
void from_json(const json &j, VolumeSpec &v) { read_fields(j, v); }

void to_json(json &j, const ContainerHealthSpec &h) { write_fields(j, h); }
void from_json(const json &j, ContainerHealthSpec &h) { read_fields(j, h); }

void to_json(json &j, const ContainerSpec &c) {
    write_fields(j, c);
    j["healthcheck"] = c.healthcheck ? json(*c.healthcheck) : json(nullptr);
}

void from_json(const json &j, ContainerSpec &c) {
    read_fields(j, c);
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
    write_fields(j, d);
    j["blobs"] = std::move(blobs);
    j["vars"] = std::move(vars);
}

void from_json(const json &j, DesiredState &d) {
    read_fields(j, d);
    d.blobs.clear();
    for (const auto &[id, content] : j.at("blobs").items()) {
        const auto &bin = content.get_binary();
        d.blobs.emplace(id, std::string(bin.begin(), bin.end()));
    }
    d.vars.clear();
    const auto &vars = j.at("vars");
    if (!vars.is_object()) throw std::invalid_argument("vars are not an object");
    for (const auto &[k, v] : vars.items()) from_json(v, d.vars[k]);
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
