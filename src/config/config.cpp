#include "config/config.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <utility>

#include "util/toml.hpp"

namespace fjord {
namespace {

constexpr std::uint64_t max_config_bytes = 1u << 20; // a config this big is a mistake, not a config

/// Problems found while checking a config, reported as one: the earliest in the file.
class Problems {
  public:
    void add(const toml::source_region &where, std::string key, std::string_view reason) {
        list_.push_back({where.begin, std::move(key) + ": " + std::string(reason)});
    }

    /// toml++ tables iterate in key order, not file order, so the earliest problem is chosen
    /// here: the operator reads the file top to bottom and so does the message.
    /// With `all`, every problem is added there as well.
    [[nodiscard]] Status status(const std::string &file, Diagnostics *all) const {
        auto message = [&](const Problem &p) {
            return file + ":" + std::to_string(p.at.line) + ":" + std::to_string(p.at.column) + ": " + p.text;
        };
        if (all)
            for (const auto &p : list_) all->add(file, Error{Errc::invalid, message(p)});
        if (list_.empty()) return {};
        auto first = std::min_element(list_.begin(), list_.end(),
                                      [](const Problem &a, const Problem &b) { return a.at < b.at; });
        return fail(Errc::invalid, message(*first));
    }

  private:
    struct Problem {
        toml::source_position at;
        std::string text;
    };
    std::vector<Problem> list_;
};

// ---- value rules: each returns "" when the value is fine, or the reason it is not ----

std::string absolute_path_rule(std::string_view p) {
    if (p.empty() || p.front() != '/') return "must be an absolute path";
    if (p.find('\0') != std::string_view::npos) return "must not contain a NUL byte";
    return {};
}

std::string optional_path_rule(std::string_view p) { return p.empty() ? std::string{} : absolute_path_rule(p); }

/// "/etc//x/" -> "/etc/x", so apply/ can compare prefixes of protect and root directly.
std::string normal_path(const std::string &p) {
    std::string out = std::filesystem::path(p).lexically_normal().string();
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

bool has_control_or_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
    });
}

/// A branch name or tag glob in the spirit of git-check-ref-format; a leading '-' is refused
/// too, so the name can never be taken for an option by a tool it is handed to.
std::string ref_rule(std::string_view name, bool glob) {
    if (name.empty()) return "must not be empty";
    bool ok = !has_control_or_space(name) && name.front() != '-' && name.front() != '/' &&
              name.back() != '/' && name.back() != '.' && name.find("..") == std::string_view::npos &&
              name.find("@{") == std::string_view::npos && name.find("//") == std::string_view::npos &&
              !name.ends_with(".lock") && name.find_first_of(glob ? "~^:\\" : "~^:\\?*[") == std::string_view::npos;
    if (ok) return {};
    return glob ? "\"" + std::string(name) + "\" is not a valid tag pattern"
                : "\"" + std::string(name) + "\" is not a valid branch name";
}

/// The part of a URL between "scheme://" and the next '/'.
std::string_view authority_of(std::string_view rest) { return rest.substr(0, rest.find('/')); }

/// scp-like "user@host:path", which git reads as ssh.
bool is_scp_like(std::string_view url) {
    auto at = url.find('@');
    auto colon = url.find(':');
    auto slash = url.find('/');
    return at != std::string_view::npos && at > 0 && colon != std::string_view::npos && colon > at + 1 &&
           colon + 1 < url.size() && (slash == std::string_view::npos || slash > colon);
}

std::string source_url_rule(std::string_view url) {
    if (url.empty()) return {};
    Transport t = url_transport(url);
    if (t == Transport::local) // a folder may well have a space in its name; a URL may not
        return std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })
                   ? "must not contain control characters"
                   : "";
    if (has_control_or_space(url)) return "must not contain spaces or control characters";
    if (t == Transport::none)
        return "must be an ssh://, https://, http://, file:// or git:// URL, user@host:path, or an "
               "absolute path";
    if (t == Transport::ssh && url.find("://") == std::string_view::npos) return {}; // scp-like
    std::string_view rest = url.substr(url.find("://") + 3);
    if (t == Transport::file) return rest.starts_with('/') ? std::string{} : "file:// must be followed by an absolute path";
    std::string_view auth = authority_of(rest);
    auto at = auth.rfind('@');
    if (auth.empty() || at + 1 == auth.size()) return "names no host";
    // Anything in the URL reaches logs and status output; credentials belong in files.
    if (at != std::string_view::npos && auth.substr(0, at).find(':') != std::string_view::npos)
        return "must not carry a password (use source.token_file or source.ssh_key)";
    return {};
}

std::string notify_url_rule(std::string_view url) {
    if (has_control_or_space(url)) return "must not contain spaces or control characters";
    std::string_view rest;
    if (url.starts_with("https://")) rest = url.substr(8);
    else if (url.starts_with("http://")) rest = url.substr(7);
    else return "must start with http:// or https://";
    if (authority_of(rest).empty()) return "names no host";
    return {};
}

std::string bus_rule(std::string_view bus) {
    // A D-Bus address is "transport:key=value,..." (several may be joined by ';').
    auto colon = bus.find(':');
    bool ok = bus.empty() || (colon != std::string_view::npos && colon > 0 &&
                              std::all_of(bus.begin(), bus.begin() + static_cast<std::ptrdiff_t>(colon),
                                          [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; }));
    return ok ? std::string{}
              : "must be \"\" (the system bus) or a D-Bus address such as \"unix:path=/run/dbus/system_bus_socket\"";
}

std::string scheduler_rule(std::string_view s) {
    bool ok = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    return ok ? std::string{} : "\"" + std::string(s) + "\" is not an I/O scheduler name";
}

constexpr std::string_view notify_events[] = {"applying", "applied", "rolled_back", "failed", "drift", "refused"};

std::string event_rule(std::string_view e) {
    if (std::find(std::begin(notify_events), std::end(notify_events), e) != std::end(notify_events)) return {};
    return "unknown event \"" + std::string(e) + "\" (use applying, applied, rolled_back, failed, drift or refused)";
}

constexpr std::pair<std::string_view, NotifyFormat> notify_formats[] = {
    {"json", NotifyFormat::json},     {"slack", NotifyFormat::slack},   {"discord", NotifyFormat::discord},
    {"teams", NotifyFormat::teams},   {"matrix", NotifyFormat::matrix}, {"github", NotifyFormat::github},
    {"gitlab", NotifyFormat::gitlab}, {"gitea", NotifyFormat::gitea},
};

/// The path of an http(s) URL after its host, without query or fragment ("" when none).
std::string_view url_path(std::string_view url) {
    std::string_view rest = url.substr(url.find("://") + 3);
    auto slash = rest.find('/');
    return slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
}

/// A notify.url for `f` names what the format needs: a room (matrix), a repository or project
/// (github, gitlab, gitea). Returns "" when it does.
std::string notify_url_form_rule(NotifyFormat f, std::string_view url) {
    std::string_view path = url_path(url);
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (f == NotifyFormat::matrix || is_commit_status(f))
        if (path.find_first_of("?#") != std::string_view::npos) return "must have no query or fragment";
    // The segments of the path, to match against the form each API has.
    std::vector<std::string_view> seg;
    for (std::size_t at = 0; at < path.size();) {
        auto next = path.find('/', at + 1);
        if (next == std::string_view::npos) next = path.size();
        if (next > at + 1) seg.push_back(path.substr(at + 1, next - at - 1));
        at = next;
    }
    auto tail = [&](std::initializer_list<std::string_view> fixed, std::size_t free) {
        if (seg.size() < fixed.size() + free) return false;
        std::size_t i = seg.size() - fixed.size() - free;
        for (auto f : fixed)
            if (seg[i++] != f) return false;
        return true;
    };
    switch (f) {
    case NotifyFormat::matrix:
        return !seg.empty() && seg.back().starts_with('!') && seg.back().find(':') != std::string_view::npos
                   ? ""
                   : "must be the homeserver's URL with the room ID as its last segment, such as "
                     "\"https://matrix.example.org/!RoomId:example.org\"";
    case NotifyFormat::github:
        return tail({"repos"}, 2) ? "" : "must end in /repos/OWNER/REPO, such as \"https://api.github.com/repos/OWNER/REPO\"";
    case NotifyFormat::gitea:
        return tail({"api", "v1", "repos"}, 2) ? ""
                                              : "must end in /api/v1/repos/OWNER/REPO, such as "
                                                "\"https://git.example.net/api/v1/repos/OWNER/REPO\"";
    case NotifyFormat::gitlab:
        return tail({"api", "v4", "projects"}, 1) ? ""
                                                  : "must end in /api/v4/projects/ID (the number, or the path with "
                                                    "\"/\" as %2F), such as \"https://gitlab.com/api/v4/projects/42\"";
    default: return {};
    }
}

/// A token goes only over https, or over http to this host itself (tests, a local relay).
/// The host is read as libcurl reads it: the authority ends at '/', '?' or '#' (so
/// "http://evil.example?@127.0.0.1/" goes to evil.example), user info before the last '@' is
/// dropped, and only "localhost", [::1] and an IPv4 address of 127.0.0.0/8 are this host.
bool token_may_travel(std::string_view url) {
    if (url.starts_with("https://")) return true;
    auto scheme = url.find("://");
    if (scheme == std::string_view::npos) return false;
    std::string_view auth = url.substr(scheme + 3);
    auth = auth.substr(0, auth.find_first_of("/?#"));
    if (auto at = auth.rfind('@'); at != std::string_view::npos) auth.remove_prefix(at + 1);
    if (auth == "[::1]" || auth.starts_with("[::1]:")) return true;
    std::string host(auth.substr(0, auth.find(':')));
    if (host == "localhost") return true;
    in_addr a{};
    return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/// source.path after expansion: relative, inside the repo. Returns "" when fine.
std::string repo_path_rule(std::string_view p) {
    if (p.empty()) return "must not be empty (\".\" is the repo's root)";
    if (p.front() == '/') return "must be relative to the repo's root";
    if (p.find('\0') != std::string_view::npos) return "must not contain a NUL byte";
    std::size_t start = 0;
    while (start <= p.size()) {
        auto end = std::min(p.find('/', start), p.size());
        if (p.substr(start, end - start) == "..") return "must not contain \"..\"";
        start = end + 1;
    }
    return {};
}

/// "./hosts//web1/" -> "hosts/web1"; "" and "./" -> ".".
std::string normal_repo_path(std::string_view p) {
    std::string out;
    std::size_t start = 0;
    while (start <= p.size()) {
        auto end = std::min(p.find('/', start), p.size());
        auto seg = p.substr(start, end - start);
        if (!seg.empty() && seg != ".") {
            if (!out.empty()) out += '/';
            out += seg;
        }
        start = end + 1;
    }
    return out.empty() ? "." : out;
}

using Rule = std::string (*)(std::string_view);

/// One table of the config: typed readers that record problems, and afterwards a check that
/// every key in the table was one the readers asked for.
class Section {
  public:
    Section(Problems &problems, const toml::table *table, std::string name)
        : problems_(problems), table_(table), name_(std::move(name)) {}

    /// The node of `key`, or nullptr when absent; either way `key` counts as known.
    const toml::node *get(std::string_view key) {
        known_.push_back(key);
        return table_ ? table_->get(key) : nullptr;
    }

    /// Records a problem with `key` at the position of `n`.
    void bad(const toml::node &n, std::string_view key, std::string_view reason) {
        problems_.add(n.source(), name_ + "." + std::string(key), reason);
    }

    /// A string passing `rule`; returns its node when `out` was set, so callers can check more.
    const toml::node *string(std::string_view key, std::string &out, Rule rule = nullptr) {
        const toml::node *n = get(key);
        if (!n) return nullptr;
        const auto *v = n->as_string();
        std::string why = !v ? "must be a string" : rule ? rule(v->get()) : std::string{};
        if (!why.empty()) {
            bad(*n, key, why);
            return nullptr;
        }
        out = v->get();
        return n;
    }

    /// true or false, nothing TOML would have to convert.
    void boolean(std::string_view key, bool &out) {
        const toml::node *n = get(key);
        if (!n) return;
        if (const auto *v = n->as_boolean()) out = v->get();
        else bad(*n, key, "must be true or false");
    }

    /// An integer of at least `min` that fits `Int`.
    template <class Int> void integer(std::string_view key, Int &out, std::int64_t min) {
        const toml::node *n = get(key);
        if (!n) return;
        const auto *v = n->as_integer();
        if (!v || v->get() < min) return bad(*n, key, min > 0 ? "must be a positive integer" : "must be a non-negative integer");
        constexpr auto max = std::numeric_limits<Int>::max();
        if constexpr (max < std::uint64_t(std::numeric_limits<std::int64_t>::max()))
            if (static_cast<std::uint64_t>(v->get()) > max) return bad(*n, key, "must be at most " + std::to_string(max));
        out = static_cast<Int>(v->get());
    }

    /// One of a fixed set of strings; the reason lists them all.
    template <class E> void choice(std::string_view key, E &out, std::initializer_list<std::pair<std::string_view, E>> options) {
        std::string s;
        const toml::node *n = string(key, s);
        if (!n) return;
        for (const auto &[name, value] : options) {
            if (name == s) {
                out = value;
                return;
            }
        }
        std::string why = "must be";
        std::size_t i = 0;
        for (const auto &o : options) {
            why += (i == 0 ? " \"" : i + 1 == options.size() ? " or \"" : ", \"") + std::string(o.first) + "\"";
            ++i;
        }
        bad(*n, key, why);
    }

    /// Durations are strings; every one must be positive, and at least `min`.
    void duration(std::string_view key, Duration &out, Duration min = Duration{1}) {
        const toml::node *n = get(key);
        if (!n) return;
        const auto *v = n->as_string();
        if (!v) return bad(*n, key, "must be a duration string such as \"30s\"");
        auto d = parse_duration(v->get());
        if (!d) return bad(*n, key, d.error().message);
        if (*d < min)
            return bad(*n, key, min == Duration{1} ? "must be longer than 0s" : "must be at least " + format_duration(min));
        out = *d;
    }

    /// Sizes are strings ("64MiB"); every one must be positive.
    void size(std::string_view key, std::uint64_t &out) {
        const toml::node *n = get(key);
        if (!n) return;
        const auto *v = n->as_string();
        if (!v) return bad(*n, key, "must be a size string such as \"64MiB\"");
        auto s = parse_size(v->get());
        if (!s) return bad(*n, key, s.error().message);
        if (*s == 0) return bad(*n, key, "must be larger than 0");
        out = *s;
    }

    /// "5%": a percentage string between 0% and 100%.
    void percent(std::string_view key, double &out) {
        const toml::node *n = get(key);
        if (!n) return;
        const auto *v = n->as_string();
        if (!v) return bad(*n, key, "must be a percentage string such as \"5%\"");
        auto p = parse_percent(v->get());
        if (!p) return bad(*n, key, p.error().message);
        if (*p > 100.0) return bad(*n, key, "must be between 0% and 100%");
        out = *p;
    }

    /// An array of strings, each passing `rule`. `out` is replaced only when all are good.
    const toml::node *strings(std::string_view key, std::vector<std::string> &out, Rule rule = nullptr) {
        const toml::node *n = get(key);
        if (!n) return nullptr;
        const auto *arr = n->as_array();
        if (!arr) {
            bad(*n, key, "must be an array of strings");
            return nullptr;
        }
        std::vector<std::string> got;
        bool good = true;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const toml::node &e = *arr->get(i);
            std::string at = std::string(key) + "[" + std::to_string(i) + "]";
            const auto *v = e.as_string();
            std::string why = !v ? "must be a string" : rule ? rule(v->get()) : std::string{};
            if (!why.empty()) {
                bad(e, at, why);
                good = false;
            } else {
                got.push_back(v->get());
            }
        }
        if (!good) return nullptr;
        out = std::move(got);
        return n;
    }

    /// Reports every key of the table that no reader asked for.
    void finish() {
        if (!table_) return;
        for (auto &&[k, v] : *table_) {
            if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
            bool table = v.is_table();
            problems_.add(table ? v.source() : k.source(), name_ + "." + std::string(k.str()),
                          table ? "unknown table" : "unknown key");
        }
    }

  private:
    Problems &problems_;
    const toml::table *table_;
    std::string name_;
    std::vector<std::string_view> known_;
};

void read_source(Section s, SourceConfig &c, const HostFacts &facts) {
    s.string("url", c.url, source_url_rule);
    s.string("branch", c.branch, [](std::string_view b) { return ref_rule(b, false); });
    std::string tag;
    const toml::node *tag_node = s.string("tag", tag, [](std::string_view t) {
        return t.empty() ? std::string{} : ref_rule(t, true);
    });
    if (tag_node && !tag.empty()) {
        // A tag replaces the branch; naming both is ambiguous, so it is refused.
        if (s.get("branch")) s.bad(*tag_node, "tag", "cannot be set together with source.branch (keep one)");
        c.tag = tag;
        c.branch.clear();
    }
    std::string tmpl;
    if (const toml::node *n = s.string("path", tmpl)) {
        auto path = expand_path_template(tmpl, facts);
        std::string why = path ? repo_path_rule(*path) : path.error().message;
        if (!why.empty()) {
            s.bad(*n, "path", why);
        } else {
            c.path_template = tmpl;
            c.path = normal_repo_path(*path);
        }
    }
    s.duration("poll_interval", c.poll_interval, Duration{1000});
    s.string("ssh_key", c.ssh_key, absolute_path_rule);
    s.string("known_hosts", c.known_hosts, absolute_path_rule);
    s.string("token_file", c.token_file, optional_path_rule);
    s.string("allowed_signers", c.allowed_signers, optional_path_rule);
    s.boolean("accept_history_rewrite", c.accept_history_rewrite);
    s.finish();
}

std::string report_url_rule(std::string_view url) {
    if (url.empty()) return {};
    Transport t = url_transport(url);
    if (t == Transport::https || t == Transport::http)
        return "must be an ssh://, git:// or file:// URL, user@host:path, or an absolute path (reports are pushed "
               "with the report key; https is not supported)";
    std::string why = source_url_rule(url);
    if (why.starts_with("must not carry a password")) return "must not carry a password (reports are pushed with report.ssh_key)";
    return why;
}

/// A URL compared with another the way an operator means it: without trailing slashes or ".git".
std::string same_repo_key(std::string_view url) {
    std::string u(url);
    while (u.size() > 1 && u.back() == '/') u.pop_back();
    if (u.ends_with(".git")) u.resize(u.size() - 4);
    if (u.starts_with("file://")) u.erase(0, 7);
    return u;
}

/// [report]; read after [source] and [state], whose values are its defaults.
void read_report(Section s, ReportConfig &c, const Config &whole, const HostFacts &facts) {
    c.ssh_key = whole.state.dir + "/ssh/report_ed25519";
    c.known_hosts = whole.source.known_hosts;
    const toml::node *url = s.string("url", c.url, report_url_rule);
    if (url && !c.url.empty() && !whole.source.url.empty() && same_repo_key(c.url) == same_repo_key(whole.source.url))
        s.bad(*url, "url", "names the same repository as source.url (\"" + whole.source.url +
                               "\"); reports go to a separate status repository, never the config repo");
    s.string("ssh_key", c.ssh_key, absolute_path_rule);
    s.string("known_hosts", c.known_hosts, absolute_path_rule);
    const toml::node *host = s.string("host", c.host_template);
    // Without reports no name is needed (so a hostname that cannot be a ref breaks nothing).
    if (host || !c.url.empty()) {
        auto expanded = expand_path_template(c.host_template, facts);
        std::string why = expanded ? ref_component_problem(*expanded) : expanded.error().message;
        std::string shown = expanded ? "\"" + expanded->substr(0, 80) + "\": " : std::string{};
        if (why.empty()) c.host = *expanded;
        else if (host) s.bad(*host, "host", shown + why);
        else if (url) s.bad(*url, "host", "%H gives " + shown + why + "; set report.host");
    }
    s.duration("heartbeat", c.heartbeat, Duration{1000});
    s.duration("timeout", c.timeout, Duration{1000});
    s.finish();
}

void read_apply(Section s, ApplyConfig &c) {
    if (s.string("root", c.root, absolute_path_rule)) c.root = normal_path(c.root);
    s.boolean("prune", c.prune);
    s.integer("max_deletions", c.max_deletions, 0);
    s.choice("drift", c.drift, {{"correct", DriftMode::correct}, {"report", DriftMode::report}, {"ignore", DriftMode::ignore}});
    s.duration("drift_interval", c.drift_interval);
    if (s.strings("protect", c.protect, absolute_path_rule))
        for (auto &p : c.protect) p = normal_path(p);
    s.integer("max_files", c.max_files, 1);
    s.size("max_file_size", c.max_file_size);
    s.finish();
}

void read_health(Section s, HealthConfig &c) {
    s.duration("timeout", c.timeout);
    s.boolean("require_source_reachable", c.require_source_reachable);
    s.finish();
}

void read_prerequisites(Section s, PrereqConfig &c) {
    s.choice("mode", c.mode, {{"off", PrereqMode::off}, {"warn", PrereqMode::warn}, {"block", PrereqMode::block}});
    // An empty list would fail every disk or pass every disk depending on the reader; refuse it.
    if (const toml::node *n = s.strings("schedulers", c.schedulers, scheduler_rule); n && c.schedulers.empty())
        s.bad(*n, "schedulers", "must name at least one scheduler");
    s.duration("max_fdatasync_p99", c.max_fdatasync_p99);
    s.percent("max_steal", c.max_steal);
    s.strings("paths", c.paths, absolute_path_rule);
    s.duration("check_interval", c.check_interval);
    s.duration("probe_interval", c.probe_interval);
    s.size("probe_size", c.probe_size);
    s.duration("steal_window", c.steal_window);
    s.finish();
}

void read_notify(Problems &problems, const toml::node &node, std::vector<NotifyConfig> &out) {
    const auto *arr = node.as_array();
    if (!arr) return problems.add(node.source(), "notify", "must be an array of tables ([[notify]])");
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node &e = *arr->get(i);
        std::string name = "notify[" + std::to_string(i) + "]";
        const auto *t = e.as_table();
        if (!t) {
            problems.add(e.source(), name, "must be a table");
            continue;
        }
        Section s(problems, t, name);
        NotifyConfig n;
        std::string format = "json";
        const toml::node *fmt = s.string("format", format);
        auto known = std::find_if(std::begin(notify_formats), std::end(notify_formats), [&](const auto &p) { return p.first == format; });
        if (known != std::end(notify_formats)) n.format = known->second;
        else if (fmt) s.bad(*fmt, "format", "unknown format \"" + format + "\" (use json, slack, discord, teams, matrix, github, gitlab or gitea)");
        // Commit statuses report what became of a commit: from its apply starting to its outcome.
        if (is_commit_status(n.format)) n.events = {"applying", "applied", "rolled_back", "failed", "refused"};

        if (!s.get("url")) problems.add(e.source(), name + ".url", "missing (every [[notify]] needs a url)");
        const toml::node *url = s.string("url", n.url, notify_url_rule);
        if (url)
            if (std::string why = notify_url_form_rule(n.format, n.url); !why.empty())
                s.bad(*url, "url", "format \"" + format + "\": " + why);
        const toml::node *ev = s.strings("events", n.events, event_rule);
        if (ev && n.events.empty()) s.bad(*ev, "events", "must name at least one event");
        if (ev && is_commit_status(n.format) && std::find(n.events.begin(), n.events.end(), "drift") != n.events.end())
            s.bad(*ev, "events", "\"drift\" is no commit's outcome; format \"" + format + "\" writes commit statuses (leave it out)");

        const toml::node *tok = s.string("token_file", n.token_file, optional_path_rule);
        bool needs_token = n.format == NotifyFormat::matrix || is_commit_status(n.format);
        bool url_secret = n.format == NotifyFormat::slack || n.format == NotifyFormat::discord || n.format == NotifyFormat::teams;
        if (needs_token && n.token_file.empty())
            problems.add(tok ? tok->source() : e.source(), name + ".token_file",
                         "missing (format \"" + format + "\" needs a token; put it alone in a file readable by root only)");
        if (tok && url_secret && !n.token_file.empty())
            s.bad(*tok, "token_file", "not used by format \"" + format + "\": its webhook URL is the secret");
        if (tok && url && !n.token_file.empty() && !token_may_travel(n.url))
            s.bad(*tok, "token_file", "the token would travel in clear text: url must be https:// (http:// only to localhost)");
        s.finish();
        out.push_back(std::move(n));
    }
}

} // namespace

std::string_view notify_format_name(NotifyFormat f) {
    for (const auto &[name, value] : notify_formats)
        if (value == f) return name;
    return "json";
}

Transport url_transport(std::string_view url) {
    if (url.empty()) return Transport::none;
    static constexpr std::pair<std::string_view, Transport> schemes[] = {
        {"ssh://", Transport::ssh},   {"https://", Transport::https}, {"http://", Transport::http},
        {"file://", Transport::file}, {"git://", Transport::git},
    };
    for (const auto &[prefix, t] : schemes)
        if (url.starts_with(prefix)) return t;
    if (url.find("://") != std::string_view::npos) return Transport::none;
    if (url.front() == '/') return Transport::local;
    if (is_scp_like(url)) return Transport::ssh;
    return Transport::none;
}

Result<std::string> expand_path_template(std::string_view tmpl, const HostFacts &facts) {
    std::string out;
    for (std::size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] != '%') {
            out += tmpl[i];
            continue;
        }
        char c = i + 1 < tmpl.size() ? tmpl[++i] : '\0';
        if (c == '%') {
            out += '%';
        } else if (c == 'H') {
            if (facts.hostname.empty()) return fail(Errc::invalid, "%H: this host's name is unknown");
            out += facts.hostname;
        } else if (c == 'm') {
            if (facts.machine_id.empty()) return fail(Errc::invalid, "%m: this host has no machine-id (/etc/machine-id)");
            out += facts.machine_id;
        } else {
            bool printable = c > 0x20 && c < 0x7f;
            return fail(Errc::invalid, (printable ? "unknown \"%" + std::string(1, c) + "\"" : std::string("a lone \"%\"")) +
                                           " in \"" + std::string(tmpl) + "\" (use %H, %m or %%)");
        }
    }
    return out;
}

Result<Config> parse_config(std::string_view text, const std::string &file, const HostFacts &facts, Diagnostics *all) {
    // Through fjord's wrapper, whose pre-scan refuses nesting that would overflow toml++'s stack.
    auto parsed = parse_toml(text, file);
    if (!parsed) {
        if (all) all->add(file, parsed.error());
        return fail(parsed.error());
    }
    const toml::table &root = *parsed;
    Config c;
    c.file = file;
    Problems problems;

    // The node of a top-level table, checked to be one; nullptr when absent or not a table.
    auto section = [&](std::string_view name) -> Section {
        const toml::node *n = root.get(name);
        const toml::table *t = n ? n->as_table() : nullptr;
        if (n && !t) problems.add(n->source(), std::string(name), "must be a table");
        return Section(problems, t, std::string(name));
    };
    read_source(section("source"), c.source, facts);
    read_apply(section("apply"), c.apply);
    read_health(section("health"), c.health);
    read_prerequisites(section("prerequisites"), c.prerequisites);
    {
        Section s = section("systemd");
        s.string("bus", c.systemd.bus, bus_rule);
        s.finish();
    }
    {
        Section s = section("podman");
        s.string("socket", c.podman.socket, absolute_path_rule);
        s.duration("registry_poll_interval", c.podman.registry_poll_interval);
        s.string("registry_auth_file", c.podman.registry_auth_file, optional_path_rule);
        s.finish();
    }
    {
        Section s = section("secrets");
        s.string("identity", c.secrets.identity, absolute_path_rule);
        s.finish();
    }
    {
        Section s = section("state");
        if (s.string("dir", c.state.dir, absolute_path_rule)) c.state.dir = normal_path(c.state.dir);
        s.integer("keep_generations", c.state.keep_generations, 1);
        s.finish();
    }
    read_report(section("report"), c.report, c, facts);
    {
        Section s = section("log");
        s.choice("level", c.log_level,
                 {{"debug", LogLevel::debug}, {"info", LogLevel::info}, {"warning", LogLevel::warning}, {"error", LogLevel::error}});
        s.finish();
    }
    {
        Section s = section("metrics");
        s.string("textfile", c.metrics_textfile, optional_path_rule);
        s.finish();
    }
    if (const toml::node *n = root.get("notify")) read_notify(problems, *n, c.notify);

    static constexpr std::string_view known[] = {"source",  "apply",  "health",  "prerequisites", "systemd", "podman",
                                                 "secrets", "state",  "report",  "log",           "metrics", "notify"};
    for (auto &&[k, v] : root) {
        if (std::find(std::begin(known), std::end(known), k.str()) != std::end(known)) continue;
        bool table = v.is_table();
        problems.add(table ? v.source() : k.source(), std::string(k.str()), table ? "unknown table" : "unknown key");
    }
    FJORD_TRY(problems.status(file, all));
    return c;
}

Result<Config> load_config(const std::string &file, const HostFacts &facts, Diagnostics *all) {
    auto text = read_file(file, max_config_bytes);
    if (!text) {
        Error e = std::move(text.error()).context("read config");
        if (all) all->add(file, e);
        return fail(std::move(e));
    }
    return parse_config(*text, file, facts, all);
}

} // namespace fjord
