#include "manifest/container_toml.hpp"

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
    v.host = std::string(parts[0]);
    v.container = std::string(parts[1]);
    return !v.host.empty() && v.host.front() == '/' && !v.container.empty() && v.container.front() == '/' &&
           !has_blank(v.host) && !has_blank(v.container);
}

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

Result<ContainerSpec> parse_container_table(const toml::table &t, const std::string &name, const std::string &origin,
                                            const std::string &label) {
    Where w(origin, label);
    ContainerSpec c;
    c.name = name;
    auto suffix = std::string_view(container_temp_suffix);
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        return w.error(t, "", "a name ending in " + std::string(suffix) + " is reserved for fjord's replacements");
    for (auto &&[k, v] : t) {
        std::string_view key = k.str();
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
                    return w.error(v, key, "\"" + one + "\" is not /HOST/PATH:/CONTAINER/PATH[:ro]");
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
    }
    if (c.image.empty()) return w.error(t, "image", "missing (the image to run, e.g. \"registry.example.net/app:1.2\")");
    return c;
}

} // namespace fjord
