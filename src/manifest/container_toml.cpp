#include "manifest/container_toml.hpp"

#include "manifest/manifest_toml.hpp"
#include "util/parse.hpp"
#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

namespace fjord {
namespace {

/// Error helpers bound to one table: "ORIGIN:LINE:COL: container.web: ports: why".
class Where {
  public:
    Where(const std::string &origin, const std::string &label) : origin_(origin), label_(label) {}

    tl::unexpected<Error> error(const toml::node &n, std::string_view key, const std::string &why) const {
        return error(n.source(), key, why);
    }
    tl::unexpected<Error> error(const toml::source_region &r, std::string_view key, const std::string &why) const {
        const auto &b = r.begin;
        std::string m = origin_ + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": ";
        if (!label_.empty()) m += label_ + ": ";
        if (!key.empty()) m += std::string(key) + ": ";
        return fail(Errc::invalid, m + why);
    }

  private:
    const std::string &origin_;
    const std::string &label_;
};

bool has_blank(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

Result<std::string> str(const Where &w, const toml::node &n, std::string_view key) {
    if (const auto *s = n.as_string()) return s->get();
    return w.error(n, key, "expected a string");
}

Result<std::vector<std::string>> strings(const Where &w, const toml::node &n, std::string_view key) {
    const auto *a = n.as_array();
    if (!a) return w.error(n, key, "expected an array of strings");
    std::vector<std::string> out;
    for (const toml::node &e : *a) {
        const auto *s = e.as_string();
        if (!s) return w.error(e, key, "expected an array of strings, got another element");
        out.push_back(s->get());
    }
    return out;
}

Result<std::map<std::string, std::string>> string_table(const Where &w, const toml::node &n, std::string_view key) {
    const auto *t = n.as_table();
    if (!t) return w.error(n, key, "expected a table of strings ({ NAME = \"value\" })");
    std::map<std::string, std::string> out;
    for (auto &&[k, v] : *t) {
        const auto *s = v.as_string();
        if (!s) return w.error(v, std::string(key) + "." + std::string(k.str()), "expected a string");
        out.emplace(std::string(k.str()), s->get());
    }
    return out;
}

bool port_number(std::string_view s, std::uint16_t &out) {
    unsigned v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || v == 0 || v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

// "[ip:]hostport:containerport[/proto]"; an IPv6 address goes in brackets ("[::1]:8080:80").
bool parse_port(std::string_view s, PortSpec &p) {
    if (auto slash = s.rfind('/'); slash != std::string_view::npos) {
        p.protocol = std::string(s.substr(slash + 1));
        if (p.protocol != "tcp" && p.protocol != "udp") return false;
        s = s.substr(0, slash);
    }
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
        p.host_ip = std::string(s.substr(1, close - 1));
        if (p.host_ip.empty()) return false;
        s = s.substr(close + 2);
    } else if (std::count(s.begin(), s.end(), ':') == 2) {
        auto colon = s.find(':');
        p.host_ip = std::string(s.substr(0, colon));
        if (p.host_ip.empty() || has_blank(p.host_ip)) return false;
        s = s.substr(colon + 1);
    }
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    return port_number(s.substr(0, colon), p.host_port) && port_number(s.substr(colon + 1), p.container_port);
}

bool parse_volume(std::string_view s, VolumeSpec &v) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        auto p = s.find(':', start);
        parts.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
        if (p == std::string_view::npos) break;
        start = p + 1;
    }
    if (parts.size() == 3) {
        if (parts[2] != "ro" && parts[2] != "rw") return false;
        v.read_only = parts[2] == "ro";
    } else if (parts.size() != 2) {
        return false;
    }
    auto host = normal_container_path(parts[0]);
    auto inside = normal_container_path(parts[1]);
    if (!host || !inside || has_blank(*host) || has_blank(*inside)) return false;
    v.host = std::move(*host);
    v.container = std::move(*inside);
    return true;
}

// Bounds on what goes into podman's create call: argv well below ARG_MAX.
constexpr std::size_t max_args = 4096, max_argv_bytes = 256 << 10, max_image_ref = 1024;

/// An argument podman passes to exec: no NUL or control character but tab and line breaks.
bool printable_arg(std::string_view a) {
    return std::none_of(a.begin(), a.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f;
    });
}

std::string check_argv(const std::vector<std::string> &argv) {
    if (argv.size() > max_args) return "more than " + std::to_string(max_args) + " arguments";
    std::size_t bytes = 0;
    for (const auto &a : argv) {
        if (!printable_arg(a)) return "an argument has control characters or NUL";
        bytes += a.size() + 1;
    }
    if (bytes > max_argv_bytes) return "longer than " + std::to_string(max_argv_bytes >> 10) + " KiB";
    return "";
}

/// [registry[:port]/]path[:tag][@algo:hex]: ASCII letters, digits and . _ - / : @ only, not
/// starting with '-' or '/' (never read as an option or a path).
bool valid_image_ref(std::string_view r) {
    if (r.empty() || r.size() > max_image_ref || r.front() == '-' || r.front() == '/' || r.back() == '/' || r.back() == ':')
        return false;
    return std::all_of(r.begin(), r.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-' || c == '/' || c == ':' || c == '@';
    });
}

bool valid_env_name(std::string_view n) { return !n.empty() && n.find('=') == std::string_view::npos && !has_blank(n); }

// "0.5", "2" (a string, as in DESIGN.md) or a bare TOML number; kept in thousandths.
Result<std::int64_t> parse_cpus(const Where &w, const toml::node &n) {
    double v = 0;
    if (const auto *s = n.as_string()) {
        const std::string &t = s->get();
        auto r = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || r.ec != std::errc{} || r.ptr != t.data() + t.size())
            return w.error(n, "cpus", "\"" + t + "\" is not a number of CPUs (e.g. \"0.5\")");
    } else if (const auto *f = n.as_floating_point()) {
        v = f->get();
    } else if (const auto *i = n.as_integer()) {
        v = double(i->get());
    } else {
        return w.error(n, "cpus", "expected a number of CPUs (e.g. \"0.5\")");
    }
    if (!(v >= 0.001 && v <= 1024)) return w.error(n, "cpus", "must be between 0.001 and 1024");
    return std::int64_t(std::llround(v * 1000));
}

Result<std::int64_t> duration(const Where &w, const toml::node &n, std::string_view key) {
    auto s = str(w, n, key);
    if (!s) return fail(s.error());
    auto d = parse_duration(*s);
    if (!d) return w.error(n, key, d.error().message);
    if (d->count() <= 0) return w.error(n, key, "must be more than 0s");
    return std::int64_t(d->count());
}

Result<ContainerHealthSpec> parse_health(const Where &w, const toml::node &n) {
    const auto *t = n.as_table();
    if (!t) return w.error(n, "healthcheck", "expected a table (command, interval, timeout, retries)");
    ContainerHealthSpec h;
    for (auto &&[k, v] : *t) {
        std::string key = "healthcheck." + std::string(k.str());
        if (k.str() == "command") {
            auto c = strings(w, v, key);
            if (!c) return fail(c.error());
            if (c->empty()) return w.error(v, key, "must not be empty");
            h.command = std::move(*c);
        } else if (k.str() == "interval" || k.str() == "timeout") {
            auto d = duration(w, v, key);
            if (!d) return fail(d.error());
            (k.str() == "interval" ? h.interval_ms : h.timeout_ms) = *d;
        } else if (k.str() == "retries") {
            const auto *i = v.as_integer();
            if (!i || i->get() < 1 || i->get() > 100) return w.error(v, key, "expected an integer from 1 to 100");
            h.retries = i->get();
        } else {
            return w.error(k.source(), key, "unknown key (command, interval, timeout, retries)");
        }
    }
    if (h.command.empty()) return w.error(n, "healthcheck.command", "missing (the command run inside the container)");
    return h;
}

} // namespace

std::optional<std::string> normal_container_path(std::string_view p) {
    if (p.empty() || p.front() != '/' || p.size() > 4095) return std::nullopt;
    std::string out;
    for (std::size_t i = 1; i <= p.size();) {
        std::size_t j = std::min(p.find('/', i), p.size());
        std::string_view seg = p.substr(i, j - i);
        if (seg == "..") return std::nullopt;
        if (!seg.empty() && seg != ".") out += "/" + std::string(seg);
        i = j + 1;
    }
    return out.empty() ? std::string("/") : out;
}

Status check_container_fields(const ContainerSpec &c) {
    auto bad = [](const std::string &key, const std::string &why) { return fail(Errc::invalid, key + ": " + why); };
    if (!valid_container_name(c.name)) return bad("name", "not a container name");
    if (!valid_image_ref(c.image)) return bad("image", "not an image reference");
    if (auto why = check_argv(c.command); !why.empty()) return bad("command", why);
    for (const auto &[n, v] : c.env) {
        if (!valid_env_name(n)) return bad("env", "not an environment variable name");
        if (v.find('\0') != std::string::npos) return bad("env." + n, "NUL in the value");
    }
    for (const auto &p : c.ports) {
        if (p.host_port == 0 || p.container_port == 0) return bad("ports", "a port must be from 1 to 65535");
        if (p.protocol != "tcp" && p.protocol != "udp") return bad("ports", "the protocol must be tcp or udp");
        if (p.host_ip.size() > 64 || has_blank(p.host_ip) ||
            p.host_ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
            return bad("ports", "the host address is not an IP address");
    }
    for (const auto &v : c.volumes) {
        auto host = normal_container_path(v.host);
        auto inside = normal_container_path(v.container);
        if (!host || *host != v.host || has_blank(v.host)) return bad("volumes", "host path is not absolute and normalised (no \"..\")");
        if (!inside || *inside != v.container || has_blank(v.container))
            return bad("volumes", "container path is not absolute and normalised (no \"..\")");
    }
    if (c.restart != "no" && c.restart != "on-failure" && c.restart != "always" && c.restart != "unless-stopped")
        return bad("restart", "not one of no, on-failure, always, unless-stopped");
    for (const auto &[n, v] : c.labels) {
        if (n.rfind("io.fjord.", 0) == 0) return bad("labels", "io.fjord.* labels are fjord's own");
        if (n.empty() || n.find('\0') != std::string::npos || v.find('\0') != std::string::npos) return bad("labels", "empty name or NUL");
    }
    if (c.memory != 0 && c.memory < (6u << 20)) return bad("memory", "must be at least 6MiB");
    if (c.cpus_milli < 0 || c.cpus_milli > 1'024'000) return bad("cpus", "must be between 0.001 and 1024");
    if (has_blank(c.update)) return bad("update", "blanks or control characters");
    if (c.healthcheck) {
        const auto &h = *c.healthcheck;
        if (h.command.empty()) return bad("healthcheck.command", "must not be empty");
        if (auto why = check_argv(h.command); !why.empty()) return bad("healthcheck.command", why);
        if (h.interval_ms <= 0 || h.timeout_ms <= 0 || h.retries < 1 || h.retries > 100)
            return bad("healthcheck", "interval and timeout must be more than 0s, retries from 1 to 100");
    }
    return {};
}

Result<ContainerSpec> parse_container_table(const toml::table &t, const std::string &name, const std::string &origin,
                                            const std::string &label, Diagnostics *all) {
    Where w(origin, label);
    ContainerSpec c;
    c.name = name;
    auto suffix = std::string_view(container_temp_suffix);
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        return w.error(t, "", "a name ending in " + std::string(suffix) + " is reserved for fjord's replacements");
    std::size_t errors = 0; // keys in error, with `all`
    for (auto &&[k, v] : t) {
        std::string_view key = k.str();
        // One key: its error ends it; with `all` the next key is read all the same.
        auto one = [&, &k = k, &v = v]() -> Status {
            if (key == "image") {
                auto s = str(w, v, key);
                if (!s) return fail(s.error());
                if (s->empty() || has_blank(*s)) return w.error(v, key, "\"" + *s + "\" is not an image reference");
                c.image = std::move(*s);
            } else if (key == "command") {
                auto s = strings(w, v, key);
                if (!s) return fail(s.error());
                c.command = std::move(*s);
            } else if (key == "env") {
                auto e = string_table(w, v, key);
                if (!e) return fail(e.error());
                for (const auto &[n, _] : *e)
                    if (n.empty() || n.find('=') != std::string::npos || has_blank(n))
                        return w.error(v, key, "\"" + n + "\" is not an environment variable name");
                c.env = std::move(*e);
            } else if (key == "labels") {
                auto l = string_table(w, v, key);
                if (!l) return fail(l.error());
                for (const auto &[n, _] : *l)
                    if (n.rfind("io.fjord.", 0) == 0) return w.error(v, key, "\"" + n + "\": io.fjord.* labels are fjord's own");
                c.labels = std::move(*l);
            } else if (key == "ports") {
                auto s = strings(w, v, key);
                if (!s) return fail(s.error());
                for (const auto &one : *s) {
                    PortSpec p;
                    if (!parse_port(one, p))
                        return w.error(v, key, "\"" + one + "\" is not [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]");
                    c.ports.push_back(std::move(p));
                }
            } else if (key == "volumes") {
                auto s = strings(w, v, key);
                if (!s) return fail(s.error());
                for (const auto &one : *s) {
                    VolumeSpec vol;
                    if (!parse_volume(one, vol))
                        return w.error(v, key, "\"" + one + "\" is not /HOST/PATH:/CONTAINER/PATH[:ro] (absolute, no \"..\")");
                    c.volumes.push_back(std::move(vol));
                }
            } else if (key == "memory") {
                auto s = str(w, v, key);
                if (!s) return fail(s.error());
                auto m = parse_size(*s);
                if (!m) return w.error(v, key, m.error().message);
                if (*m < (6u << 20)) return w.error(v, key, "must be at least 6MiB (podman's minimum)");
                c.memory = *m;
            } else if (key == "cpus") {
                auto m = parse_cpus(w, v);
                if (!m) return fail(m.error());
                c.cpus_milli = *m;
            } else if (key == "restart") {
                auto s = str(w, v, key);
                if (!s) return fail(s.error());
                if (*s != "no" && *s != "on-failure" && *s != "always" && *s != "unless-stopped")
                    return w.error(v, key, "\"" + *s + "\" is not one of no, on-failure, always, unless-stopped");
                c.restart = std::move(*s);
            } else if (key == "update") {
                auto s = str(w, v, key);
                if (!s) return fail(s.error());
                bool ok = s->empty() || (s->rfind("glob:", 0) == 0 && s->size() > 5) || (s->rfind("semver:", 0) == 0 && s->size() > 7);
                if (!ok || has_blank(*s))
                    return w.error(v, key, "\"" + *s + "\" is not \"\", \"glob:PATTERN\" or \"semver:RANGE\"");
                c.update = std::move(*s);
            } else if (key == "healthcheck") {
                auto h = parse_health(w, v);
                if (!h) return fail(h.error());
                c.healthcheck = std::move(*h);
            } else {
                return w.error(k.source(), key,
                               "unknown key (image, command, env, ports, volumes, memory, cpus, restart, labels, update, healthcheck)");
            }
            return {};
        };
        if (auto s = one(); !s) {
            if (!all) return fail(std::move(s.error()));
            all->add(origin, std::move(s.error()));
            ++errors;
        }
    }
    auto no_image = [&] { return w.error(t, "image", "missing (the image to run, e.g. \"registry.example.net/app:1.2\")"); };
    if (errors) { // incomplete: only its errors count
        if (!t.get("image")) all->add(origin, no_image().value());
        return c;
    }
    if (c.image.empty()) return no_image();
    // What the keys above do not already refuse: image syntax, argv bounds, NUL in values.
    if (auto ok = check_container_fields(c); !ok) return w.error(t, "", ok.error().message);
    return c;
}

} // namespace fjord
