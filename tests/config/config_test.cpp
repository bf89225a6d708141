#include "config/config.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

const std::string file = "/etc/fjord/fjord.toml";
const HostFacts facts{"web1", "0123456789abcdef0123456789abcdef"};

Result<Config> parse(std::string_view text) { return parse_config(text, file, facts); }

/// The error message of a config that must be refused.
std::string error_of(std::string_view text) {
    auto r = parse(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    return r.error().message;
}

Config defaults() {
    Config c;
    c.file = file;
    return c;
}

std::string read_text(const std::string &path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST_CASE("an empty file is all defaults, and the defaults are DESIGN's") {
    auto c = parse("");
    REQUIRE(c);
    CHECK(*c == defaults());
    CHECK(*parse("# only a comment\n\n") == defaults());
    CHECK(c->file == file);
    CHECK(c->source.url.empty());
    CHECK(c->source.branch == "main");
    CHECK(c->source.tag.empty());
    CHECK(c->source.path == ".");
    CHECK(c->source.poll_interval == 60s);
    CHECK(c->apply.max_deletions == 20);
    CHECK(c->apply.drift == DriftMode::correct);
    CHECK(c->apply.drift_interval == 5min);
    CHECK(c->apply.max_file_size == 64ull << 20);
    CHECK(c->health.timeout == 120s);
    CHECK(c->prerequisites.mode == PrereqMode::warn);
    CHECK(c->prerequisites.max_fdatasync_p99 == 10ms);
    CHECK(c->prerequisites.probe_interval == 24h);
    CHECK(c->prerequisites.probe_size == 22ull << 20);
    CHECK(c->podman.registry_poll_interval == 5min);
    CHECK(c->state.keep_generations == 20);
    CHECK(c->log_level == LogLevel::info);
    CHECK(c->notify.empty());
    // An empty section is the same as an absent one.
    CHECK(*parse("[source]\n[apply]\n[log]\n") == defaults());
}

TEST_CASE("[source] round-trips") {
    auto c = parse(R"([source]
url = "ssh://git@git.example.net/ops/fleet.git"
branch = "prod"
path = "hosts/%H"
poll_interval = "1m30s"
ssh_key = "/k/id"
known_hosts = "/k/known"
token_file = "/k/token"
allowed_signers = "/k/signers"
accept_history_rewrite = true
)");
    REQUIRE(c);
    CHECK(c->source.url == "ssh://git@git.example.net/ops/fleet.git");
    CHECK(c->source.branch == "prod");
    CHECK(c->source.tag.empty());
    CHECK(c->source.path == "hosts/web1");
    CHECK(c->source.path_template == "hosts/%H");
    CHECK(c->source.poll_interval == 90s);
    CHECK(c->source.ssh_key == "/k/id");
    CHECK(c->source.known_hosts == "/k/known");
    CHECK(c->source.token_file == "/k/token");
    CHECK(c->source.allowed_signers == "/k/signers");
    CHECK(c->source.accept_history_rewrite);
    // Everything else stays at its default; report.known_hosts follows source.known_hosts.
    CHECK(c->report.known_hosts == "/k/known");
    Config rest = *c;
    rest.source = defaults().source;
    rest.report.known_hosts = defaults().report.known_hosts;
    CHECK(rest == defaults());
}

TEST_CASE("[apply], [health] and [prerequisites] round-trip") {
    auto c = parse(R"([apply]
root = "/tmp/demo/"
prune = false
max_deletions = 0
drift = "report"
drift_interval = "10m"
protect = ["/boot", "/srv//data/"]
max_files = 5000
max_file_size = "1GiB"

[health]
timeout = "30s"
require_source_reachable = false

[prerequisites]
mode = "block"
schedulers = ["bfq"]
max_fdatasync_p99 = "20ms"
max_steal = "2.5%"
paths = ["/var/lib/etcd"]
check_interval = "30m"
probe_interval = "12h"
probe_size = "8MiB"
steal_window = "10s"
)");
    REQUIRE(c);
    CHECK(c->apply.root == "/tmp/demo"); // normalized, so prefixes compare directly
    CHECK_FALSE(c->apply.prune);
    CHECK(c->apply.max_deletions == 0);
    CHECK(c->apply.drift == DriftMode::report);
    CHECK(c->apply.drift_interval == 10min);
    CHECK(c->apply.protect == std::vector<std::string>{"/boot", "/srv/data"});
    CHECK(c->apply.max_files == 5000);
    CHECK(c->apply.max_file_size == 1ull << 30);
    CHECK(c->health.timeout == 30s);
    CHECK_FALSE(c->health.require_source_reachable);
    CHECK(c->prerequisites.mode == PrereqMode::block);
    CHECK(c->prerequisites.schedulers == std::vector<std::string>{"bfq"});
    CHECK(c->prerequisites.max_fdatasync_p99 == 20ms);
    CHECK(c->prerequisites.max_steal == doctest::Approx(2.5));
    CHECK(c->prerequisites.paths == std::vector<std::string>{"/var/lib/etcd"});
    CHECK(c->prerequisites.check_interval == 30min);
    CHECK(c->prerequisites.probe_interval == 12h);
    CHECK(c->prerequisites.probe_size == 8ull << 20);
    CHECK(c->prerequisites.steal_window == 10s);
    CHECK(*parse("[apply]\ndrift = \"ignore\"\n[prerequisites]\nmode = \"off\"") !=
          defaults()); // the other choices parse too
    CHECK(parse("[apply]\nprotect = []")->apply.protect.empty());
}

TEST_CASE("[systemd] to [[notify]] round-trip") {
    auto c = parse(R"([systemd]
bus = "unix:path=/proc/1/root/run/dbus/system_bus_socket"
[podman]
socket = "/run/user/1000/podman/podman.sock"
registry_poll_interval = "1h"
registry_auth_file = "/etc/fjord/registry-auth.json"
[secrets]
identity = "/etc/fjord/age"
[state]
dir = "/srv/fjord/"
keep_generations = 1
[log]
level = "debug"
[metrics]
textfile = ""

[[notify]]
url = "https://hooks.example.net/fjord"

[[notify]]
url = "http://127.0.0.1:9000/x"
events = ["failed", "refused"]
)");
    REQUIRE(c);
    CHECK(c->systemd.bus == "unix:path=/proc/1/root/run/dbus/system_bus_socket");
    CHECK(c->podman.socket == "/run/user/1000/podman/podman.sock");
    CHECK(c->podman.registry_poll_interval == 1h);
    CHECK(c->podman.registry_auth_file == "/etc/fjord/registry-auth.json");
    CHECK(c->secrets.identity == "/etc/fjord/age");
    CHECK(c->state.dir == "/srv/fjord");
    CHECK(c->state.keep_generations == 1);
    CHECK(c->log_level == LogLevel::debug);
    CHECK(c->metrics_textfile.empty());
    REQUIRE(c->notify.size() == 2);
    CHECK(c->notify[0].url == "https://hooks.example.net/fjord");
    CHECK(c->notify[0].events == std::vector<std::string>{"applied", "rolled_back", "failed", "drift"});
    CHECK(c->notify[1].url == "http://127.0.0.1:9000/x");
    CHECK(c->notify[1].events == std::vector<std::string>{"failed", "refused"});
    CHECK(parse("[log]\nlevel = \"warning\"")->log_level == LogLevel::warning);
    CHECK(parse("[log]\nlevel = \"error\"")->log_level == LogLevel::error);
    // Inline tables and dotted keys are the same TOML.
    CHECK(parse("notify = [{ url = \"https://h/x\" }]")->notify.size() == 1);
    CHECK(parse("log.level = \"debug\"")->log_level == LogLevel::debug);
}

TEST_CASE("errors name FILE:LINE:COL: key: reason") {
    // Line and column are those of the value (or of the key, for an unknown key).
    CHECK(error_of("[source]\nurl = \"/srv/fleet\"\n\n[apply]\nmax_deletions   = -1\n") ==
          "/etc/fjord/fjord.toml:5:19: apply.max_deletions: must be a non-negative integer");
    CHECK(error_of("[apply]\n# comment\n\n\n\n\ncolour = \"red\"\n") == "/etc/fjord/fjord.toml:7:1: apply.colour: unknown key");
    CHECK(error_of("[apply]\n  colour = 1") == "/etc/fjord/fjord.toml:2:3: apply.colour: unknown key");
    CHECK(error_of("[log]\nlevel = \"info\"\n\n[colour]\nx = 1\n") == "/etc/fjord/fjord.toml:4:1: colour: unknown table");
    CHECK(error_of("[apply.extra]\nx = 1") == "/etc/fjord/fjord.toml:1:1: apply.extra: unknown table");
    CHECK(error_of("\nfoo = 1") == "/etc/fjord/fjord.toml:2:1: foo: unknown key");
    CHECK(error_of("[[notify]]\nurl = \"https://h/\"\nevent = []") ==
          "/etc/fjord/fjord.toml:3:1: notify[0].event: unknown key");
}

TEST_CASE("a key nested 200,000 deep is refused before toml++ parses it (it overflowed its stack)") {
    std::string deep = "[apply]\n";
    for (int i = 0; i < 199'999; ++i) deep += "a.";
    deep += "a = 1\n";
    CHECK(error_of(deep) == file + ":2:127: nests deeper than 64 levels (table headers, dotted keys, arrays and "
                               "inline tables together), refused before parsing");
    CHECK(error_of("[source]\nurl = " + std::string(100'000, '[')).find(":2:70: nests deeper") !=
          std::string::npos);
}

TEST_CASE("wrong types are errors") {
    CHECK(error_of("[apply]\nprune = \"yes\"") == file + ":2:9: apply.prune: must be true or false");
    CHECK(error_of("[source]\nurl = 5") == file + ":2:7: source.url: must be a string");
    CHECK(error_of("[apply]\nmax_deletions = 1.5") == file + ":2:17: apply.max_deletions: must be a non-negative integer");
    CHECK(error_of("[apply]\nmax_deletions = 4294967296") == file + ":2:17: apply.max_deletions: must be at most 4294967295");
    CHECK(error_of("[apply]\nprotect = \"/boot\"") == file + ":2:11: apply.protect: must be an array of strings");
    CHECK(error_of("[apply]\nprotect = [\"/boot\", 7]") == file + ":2:21: apply.protect[1]: must be a string");
    CHECK(error_of("[apply]\nmax_file_size = 4096") == file + ":2:17: apply.max_file_size: must be a size string such as \"64MiB\"");
    CHECK(error_of("[prerequisites]\nmax_steal = 5") == file + ":2:13: prerequisites.max_steal: must be a percentage string such as \"5%\"");
    CHECK(error_of("apply = 3") == file + ":1:9: apply: must be a table");
    CHECK(error_of("[[apply]]") == file + ":1:1: apply: must be a table");
    CHECK(error_of("[notify]\nurl = \"https://h/\"") == file + ":1:1: notify: must be an array of tables ([[notify]])");
    CHECK(error_of("notify = [1]") == file + ":1:11: notify[0]: must be a table");
}

TEST_CASE("bad durations, sizes and percentages") {
    CHECK(error_of("[source]\npoll_interval = \"60\"") ==
          file + ":2:17: source.poll_interval: bad duration \"60\": unit must be ms, s, m, h or d");
    CHECK(error_of("[source]\npoll_interval = 60") == file + ":2:17: source.poll_interval: must be a duration string such as \"30s\"");
    CHECK(error_of("[source]\npoll_interval = \"500ms\"") == file + ":2:17: source.poll_interval: must be at least 1s");
    CHECK(error_of("[health]\ntimeout = \"0s\"") == file + ":2:11: health.timeout: must be longer than 0s");
    // An overflowing duration is too large, not "must be longer than 0s" (it wrapped negative).
    CHECK(error_of("[source]\npoll_interval = \"99999999999999999999s\"") ==
          file + ":2:17: source.poll_interval: duration \"99999999999999999999s\" is too large (at most 36500d)");
    CHECK(error_of("[health]\ntimeout = \"9223372036854775807h\"") ==
          file + ":2:11: health.timeout: duration \"9223372036854775807h\" is too large (at most 36500d)");
    CHECK(error_of("[podman]\nregistry_poll_interval = \"5 min\"").starts_with(file + ":2:26: podman.registry_poll_interval: bad duration"));
    CHECK(error_of("[podman]\nregistry_auth_file = \"auth.json\"").starts_with(file + ":2:22: podman.registry_auth_file: "));
    CHECK(error_of("[apply]\nmax_file_size = \"64 apples\"").starts_with(file + ":2:17: apply.max_file_size: bad size"));
    CHECK(error_of("[prerequisites]\nprobe_size = \"0MiB\"") == file + ":2:14: prerequisites.probe_size: must be larger than 0");
    CHECK(error_of("[prerequisites]\nmax_steal = \"150%\"") == file + ":2:13: prerequisites.max_steal: must be between 0% and 100%");
    CHECK(error_of("[prerequisites]\nmax_steal = \"5\"").starts_with(file + ":2:13: prerequisites.max_steal: bad percentage"));
}

TEST_CASE("values out of their sets are errors") {
    CHECK(error_of("[apply]\ndrift = \"fix\"") == file + ":2:9: apply.drift: must be \"correct\", \"report\" or \"ignore\"");
    CHECK(error_of("[prerequisites]\nmode = \"on\"") == file + ":2:8: prerequisites.mode: must be \"off\", \"warn\" or \"block\"");
    CHECK(error_of("[log]\nlevel = \"warn\"") == file + ":2:9: log.level: must be \"debug\", \"info\", \"warning\" or \"error\"");
    CHECK(error_of("[state]\nkeep_generations = 0") == file + ":2:20: state.keep_generations: must be a positive integer");
    CHECK(error_of("[apply]\nmax_files = 0") == file + ":2:13: apply.max_files: must be a positive integer");
    CHECK(error_of("[apply]\nroot = \"srv/demo\"") == file + ":2:8: apply.root: must be an absolute path");
    CHECK(error_of("[apply]\nprotect = [\"/boot\", \"etc\"]") == file + ":2:21: apply.protect[1]: must be an absolute path");
    CHECK(error_of("[state]\ndir = \"\"") == file + ":2:7: state.dir: must be an absolute path");
    CHECK(error_of("[source]\nssh_key = \"id\"") == file + ":2:11: source.ssh_key: must be an absolute path");
    CHECK(error_of("[metrics]\ntextfile = \"fjord.prom\"") == file + ":2:12: metrics.textfile: must be an absolute path");
    CHECK(error_of("[prerequisites]\nschedulers = []") == file + ":2:14: prerequisites.schedulers: must name at least one scheduler");
    CHECK(error_of("[prerequisites]\npaths = [\"data\"]") == file + ":2:10: prerequisites.paths[0]: must be an absolute path");
    CHECK(error_of("[systemd]\nbus = \"/run/dbus/system_bus_socket\"").starts_with(file + ":2:7: systemd.bus: must be \"\" (the system bus)"));
}

TEST_CASE("source.url: schemes, scp-like, local paths") {
    for (const char *ok : {"ssh://git@h/ops/fleet.git", "https://git.example.net/fleet.git", "http://h/x", "file:///srv/fleet",
                           "git://h/fleet", "/srv/fleet", "/srv/my fleet", "git@github.com:ops/fleet.git"}) {
        CAPTURE(ok);
        auto c = parse(std::string("[source]\nurl = \"") + ok + "\"");
        REQUIRE(c);
        CHECK(c->source.url == ok);
    }
    CHECK(url_transport("git@github.com:ops/fleet.git") == Transport::ssh);
    CHECK(url_transport("ssh://h/x") == Transport::ssh);
    CHECK(url_transport("https://h/x") == Transport::https);
    CHECK(url_transport("file:///x") == Transport::file);
    CHECK(url_transport("/srv/fleet") == Transport::local);
    CHECK(url_transport("") == Transport::none);

    const std::string bad_scheme = "must be an ssh://, https://, http://, file:// or git:// URL, user@host:path, or an absolute path";
    CHECK(error_of("[source]\nurl = \"fleet.git\"") == file + ":2:7: source.url: " + bad_scheme);
    CHECK(error_of("[source]\nurl = \"ftp://h/fleet\"") == file + ":2:7: source.url: " + bad_scheme);
    CHECK(error_of("[source]\nurl = \"host:fleet\"") == file + ":2:7: source.url: " + bad_scheme);
    CHECK(error_of("[source]\nurl = \"https://\"") == file + ":2:7: source.url: names no host");
    CHECK(error_of("[source]\nurl = \"file://srv/x\"") == file + ":2:7: source.url: file:// must be followed by an absolute path");
    CHECK(error_of("[source]\nurl = \"https://me:hunter2@h/x\"") ==
          file + ":2:7: source.url: must not carry a password (use source.token_file or source.ssh_key)");
    CHECK(error_of("[source]\nurl = \"https://h/a b\"") == file + ":2:7: source.url: must not contain spaces or control characters");
}

TEST_CASE("source.branch and source.tag") {
    auto tag = parse("[source]\ntag = \"release-*\"");
    REQUIRE(tag);
    CHECK(tag->source.tag == "release-*");
    CHECK(tag->source.branch.empty()); // the tag is followed; no stale branch left to misuse
    auto empty_tag = parse("[source]\nbranch = \"prod\"\ntag = \"\"");
    REQUIRE(empty_tag);
    CHECK(empty_tag->source.branch == "prod");
    CHECK(empty_tag->source.tag.empty());
    CHECK(error_of("[source]\nbranch = \"main\"\ntag = \"v*\"") ==
          file + ":3:7: source.tag: cannot be set together with source.branch (keep one)");
    CHECK(error_of("[source]\nbranch = \"\"") == file + ":2:10: source.branch: must not be empty");
    CHECK(error_of("[source]\nbranch = \"-main\"") == file + ":2:10: source.branch: \"-main\" is not a valid branch name");
    CHECK(error_of("[source]\nbranch = \"a..b\"") == file + ":2:10: source.branch: \"a..b\" is not a valid branch name");
    CHECK(error_of("[source]\nbranch = \"ma*n\"") == file + ":2:10: source.branch: \"ma*n\" is not a valid branch name");
    CHECK(error_of("[source]\ntag = \"v 1\"") == file + ":2:7: source.tag: \"v 1\" is not a valid tag pattern");
}

TEST_CASE("source.path: %H, %m, %% and nothing else") {
    CHECK(*expand_path_template("hosts/%H", facts) == "hosts/web1");
    CHECK(*expand_path_template("by-id/%m", facts) == "by-id/0123456789abcdef0123456789abcdef");
    CHECK(*expand_path_template("100%%/%H-%m", facts) == "100%/web1-0123456789abcdef0123456789abcdef");
    CHECK(*expand_path_template("plain", facts) == "plain");
    CHECK(expand_path_template("hosts/%x", facts).error().message == "unknown \"%x\" in \"hosts/%x\" (use %H, %m or %%)");
    CHECK(expand_path_template("hosts/%", facts).error().message == "a lone \"%\" in \"hosts/%\" (use %H, %m or %%)");
    CHECK_FALSE(expand_path_template("%H", HostFacts{"", "id"}));
    CHECK_FALSE(expand_path_template("%m", HostFacts{"h", ""}));

    auto c = parse("[source]\npath = \"./hosts//%H/\"");
    REQUIRE(c);
    CHECK(c->source.path == "hosts/web1");
    CHECK(c->source.path_template == "./hosts//%H/");
    CHECK(parse("[source]\npath = \"./\"")->source.path == ".");
    CHECK(parse("[source]\npath = \"%%\"")->source.path == "%");

    CHECK(error_of("[source]\n\npath = \"hosts/%x\"") == file + ":3:8: source.path: unknown \"%x\" in \"hosts/%x\" (use %H, %m or %%)");
    CHECK(error_of("[source]\npath = \"/hosts/%H\"") == file + ":2:8: source.path: must be relative to the repo's root");
    CHECK(error_of("[source]\npath = \"hosts/../../etc\"") == file + ":2:8: source.path: must not contain \"..\"");
    CHECK(error_of("[source]\npath = \"\"") == file + ":2:8: source.path: must not be empty (\".\" is the repo's root)");
}

TEST_CASE("[[notify]] is checked") {
    CHECK(error_of("[[notify]]\nevents = [\"failed\"]") == file + ":1:1: notify[0].url: missing (every [[notify]] needs a url)");
    CHECK(error_of("[[notify]]\nurl = \"ftp://h/\"") == file + ":2:7: notify[0].url: must start with http:// or https://");
    CHECK(error_of("[[notify]]\nurl = \"https://\"") == file + ":2:7: notify[0].url: names no host");
    CHECK(error_of("[[notify]]\nurl = \"https://h/\"\n[[notify]]\nurl = \"https://h/\"\nevents = [\"failed\", \"deploy\"]") ==
          file + ":5:21: notify[1].events[1]: unknown event \"deploy\" (use applying, applied, rolled_back, failed, drift or refused)");
    CHECK(error_of("[[notify]]\nurl = \"https://h/\"\nevents = []") == file + ":3:10: notify[0].events: must name at least one event");
}

TEST_CASE("[[notify]] format and token_file") {
    auto c = parse("[[notify]]\nurl = \"https://api.github.com/repos/ops/fleet\"\nformat = \"github\"\ntoken_file = \"/etc/fjord/gh.token\"\n"
                   "[[notify]]\nurl = \"https://hooks.slack.com/services/T/B/X\"\nformat = \"slack\"\n"
                   "[[notify]]\nurl = \"https://matrix.example.org/!r:example.org\"\nformat = \"matrix\"\ntoken_file = \"/m\"\n"
                   "[[notify]]\nurl = \"https://gitlab.com/api/v4/projects/ops%2Ffleet\"\nformat = \"gitlab\"\ntoken_file = \"/g\"\n"
                   "[[notify]]\nurl = \"http://127.0.0.1:3000/api/v1/repos/o/r\"\nformat = \"gitea\"\ntoken_file = \"/g\"\n"
                   "events = [\"applied\"]\n");
    REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
    REQUIRE(c->notify.size() == 5);
    CHECK(c->notify[0].format == NotifyFormat::github);
    CHECK(c->notify[0].token_file == "/etc/fjord/gh.token");
    // Commit statuses follow a commit from its apply starting to its outcome; drift is not one.
    CHECK(c->notify[0].events == std::vector<std::string>{"applying", "applied", "rolled_back", "failed", "refused"});
    CHECK(c->notify[1].format == NotifyFormat::slack);
    CHECK(c->notify[1].events == std::vector<std::string>{"applied", "rolled_back", "failed", "drift"});
    CHECK(c->notify[2].format == NotifyFormat::matrix);
    CHECK(c->notify[3].format == NotifyFormat::gitlab);
    CHECK(c->notify[4].events == std::vector<std::string>{"applied"});
    CHECK(parse("[[notify]]\nurl = \"https://h/x\"")->notify[0].format == NotifyFormat::json);
    CHECK(notify_format_name(NotifyFormat::gitea) == "gitea");

    CHECK(error_of("[[notify]]\nurl = \"https://h/x\"\nformat = \"slak\"") ==
          file + ":3:10: notify[0].format: unknown format \"slak\" (use json, slack, discord, teams, matrix, github, gitlab or gitea)");
    CHECK(error_of("[[notify]]\nurl = \"https://api.github.com/repos/o/r\"\nformat = \"github\"") ==
          file + ":1:1: notify[0].token_file: missing (format \"github\" needs a token; put it alone in a file readable by root only)");
    CHECK(error_of("[[notify]]\nurl = \"https://m.org/!r:m.org\"\nformat = \"matrix\"\ntoken_file = \"\"") ==
          file + ":4:14: notify[0].token_file: missing (format \"matrix\" needs a token; put it alone in a file readable by root only)");
    CHECK(error_of("[[notify]]\nurl = \"https://h/x\"\nformat = \"slack\"\ntoken_file = \"/t\"") ==
          file + ":4:14: notify[0].token_file: not used by format \"slack\": its webhook URL is the secret");
    CHECK(error_of("[[notify]]\nurl = \"https://api.github.com/o/r\"\nformat = \"github\"\ntoken_file = \"/t\"") ==
          file + ":2:7: notify[0].url: format \"github\": must end in /repos/OWNER/REPO, such as \"https://api.github.com/repos/OWNER/REPO\"");
    CHECK(error_of("[[notify]]\nurl = \"https://g/api/v4/projects\"\nformat = \"gitlab\"\ntoken_file = \"/t\"").find(
              "notify[0].url: format \"gitlab\": must end in /api/v4/projects/ID") != std::string::npos);
    CHECK(error_of("[[notify]]\nurl = \"https://g/repos/o/r\"\nformat = \"gitea\"\ntoken_file = \"/t\"").find(
              "notify[0].url: format \"gitea\": must end in /api/v1/repos/OWNER/REPO") != std::string::npos);
    CHECK(error_of("[[notify]]\nurl = \"https://m.org/#r:m.org\"\nformat = \"matrix\"\ntoken_file = \"/t\"").find(
              "notify[0].url: format \"matrix\": must have no query or fragment") != std::string::npos);
    CHECK(error_of("[[notify]]\nurl = \"https://m.org/r\"\nformat = \"matrix\"\ntoken_file = \"/t\"").find(
              "with the room ID as its last segment") != std::string::npos);
    CHECK(error_of("[[notify]]\nurl = \"https://h/repos/o/r\"\nformat = \"github\"\ntoken_file = \"/t\"\nevents = [\"applied\", \"drift\"]") ==
          file + ":5:10: notify[0].events: \"drift\" is no commit's outcome; format \"github\" writes commit statuses (leave it out)");
    CHECK(error_of("[[notify]]\nurl = \"https://h/x\"\ntoken_file = \"t\"") == file + ":3:14: notify[0].token_file: must be an absolute path");
    // A token never goes over plain http to another host.
    CHECK(error_of("[[notify]]\nurl = \"http://hooks.example.net/x\"\ntoken_file = \"/t\"") ==
          file + ":3:14: notify[0].token_file: the token would travel in clear text: url must be https:// (http:// only to localhost)");
    CHECK(parse("[[notify]]\nurl = \"http://localhost:9/x\"\ntoken_file = \"/t\""));
    CHECK(parse("[[notify]]\nurl = \"http://127.0.0.1:9/x\"\ntoken_file = \"/t\""));
    CHECK(parse("[[notify]]\nurl = \"http://[::1]:9/x\"\ntoken_file = \"/t\""));
    // Hosts that only look local: libcurl would send the token elsewhere, in clear.
    for (const char *url : {"http://hooks.example.net?@127.0.0.1/x", "http://hooks.example.net#@127.0.0.1/x",
                            "http://127.evil.example/x", "http://localhost.evil.example/x", "http://[::1].evil/x"}) {
        CAPTURE(url);
        auto r = parse(std::string("[[notify]]\nurl = \"") + url + "\"\ntoken_file = \"/t\"");
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("the token would travel in clear text") != std::string::npos);
    }
    CHECK(parse("[[notify]]\nurl = \"http://[::1]:9/x\"\ntoken_file = \"/t\""));
}

TEST_CASE("TOML syntax errors carry the position") {
    auto msg = error_of("[source]\nurl = \"ssh://h/x\n");
    CHECK(msg.starts_with(file + ":2:"));
    CHECK(error_of("[apply]\nprune = true\nprune = false") ==
          file + ":3:9: Error while parsing key-value pair: cannot redefine existing boolean 'prune'");
    CHECK(error_of("[apply]\n[apply]") == file + ":2:1: Error while parsing table header: cannot redefine existing table 'apply'");
}

TEST_CASE("with several problems, the earliest in the file is reported") {
    // toml++ iterates keys alphabetically; the report must follow the file instead.
    CHECK(error_of("[source]\nurl = \"x\"\n[apply]\nmax_deletions = -1\n") == file + ":2:7: source.url: must be an ssh://, "
                                                                                   "https://, http://, file:// or git:// URL, "
                                                                                   "user@host:path, or an absolute path");
    CHECK(error_of("[state]\nzz = 1\naa = 2\n").starts_with(file + ":2:1: state.zz"));
}

TEST_CASE("load_config reads the file, or says which one it could not") {
    auto missing = load_config("/nonexistent/fjord.toml", facts);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "read config: /nonexistent/fjord.toml: No such file or directory");

    test::TempDir dir;
    std::string path = dir.path + "/fjord.toml";
    {
        std::ofstream out(path);
        out << "[log]\nlevel = \"debug\"\n[state]\nkeep_generations = -3\n";
    }
    auto bad = load_config(path, facts);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == path + ":4:20: state.keep_generations: must be a positive integer");
    {
        std::ofstream out(path);
        out << "[log]\nlevel = \"debug\"\n";
    }
    auto good = load_config(path, facts);
    REQUIRE(good);
    CHECK(good->file == path);
    CHECK(good->log_level == LogLevel::debug);
}

TEST_CASE("the packaged config/fjord.toml parses to the defaults") {
    const std::string path = std::string(FJORD_SOURCE_DIR) + "/config/fjord.toml";
    auto c = load_config(path, facts);
    REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
    Config want = defaults();
    want.file = path;
    CHECK(c->source == want.source);
    CHECK(c->apply == want.apply);
    CHECK(c->health == want.health);
    CHECK(c->prerequisites == want.prerequisites);
    CHECK(*c == want);

    // Every key of DESIGN §3 is documented, in a section of its own name.
    const std::string text_all = read_text(path);
    const std::vector<std::pair<std::string, std::vector<std::string>>> sections = {
        {"[source]", {"url", "branch", "tag", "path", "poll_interval", "ssh_key", "known_hosts", "token_file",
                      "allowed_signers", "accept_history_rewrite"}},
        {"[apply]", {"root", "prune", "max_deletions", "drift", "drift_interval", "protect", "max_files", "max_file_size"}},
        {"[health]", {"timeout", "require_source_reachable"}},
        {"[prerequisites]", {"mode", "schedulers", "max_fdatasync_p99", "max_steal", "paths", "check_interval",
                             "probe_interval", "probe_size", "steal_window"}},
        {"[systemd]", {"bus"}},
        {"[podman]", {"socket", "registry_poll_interval", "registry_auth_file"}},
        {"[secrets]", {"identity"}},
        {"[state]", {"dir", "keep_generations"}},
        {"[report]", {"url", "ssh_key", "known_hosts", "host", "heartbeat", "timeout"}},
        {"[log]", {"level"}},
        {"[metrics]", {"textfile"}},
        {"[[notify]]", {"url", "events", "format", "token_file"}},
    };
    std::size_t last = 0;
    for (const auto &[header, keys] : sections) {
        CAPTURE(header);
        auto at = text_all.find("\n" + header + "\n");
        if (at == std::string::npos) at = text_all.find("\n#" + header + "\n");
        REQUIRE(at != std::string::npos);
        CHECK(at > last); // in DESIGN's order
        last = at;
        auto end = text_all.find("\n[", at + 2);
        std::string body = text_all.substr(at, end == std::string::npos ? std::string::npos : end - at);
        for (const auto &k : keys) {
            CAPTURE(k);
            CHECK((body.find("\n" + k + " = ") != std::string::npos || body.find("\n#" + k + " = ") != std::string::npos));
        }
    }

    // Its commented-out examples are valid too: uncomment them (tag replaces branch).
    std::istringstream in(read_text(path));
    std::string text, line;
    while (std::getline(in, line)) {
        if (line.starts_with("branch =")) continue;
        if (line.size() > 1 && line[0] == '#' && line[1] != ' ') line.erase(0, 1);
        text += line + "\n";
    }
    auto examples = parse(text);
    REQUIRE_MESSAGE(examples, (examples ? "" : examples.error().message));
    CHECK(examples->source.url == "ssh://git@git.example.net/ops/fleet.git");
    CHECK(examples->source.tag == "release-*");
    REQUIRE(examples->notify.size() == 1);
    CHECK(examples->notify[0].url == "https://hooks.example.net/fjord");
}

TEST_CASE("inputs that crashed toml++ 3.3.0 under the fuzzer are plain errors (tests/fuzz/config/regressions)") {
    // "[}" tripped an assert() inside toml++ (abort); U+0457 after a bare key reached
    // __builtin_unreachable. Both must come back as a config error naming the file.
    for (std::string text : {std::string("[}"), std::string("[source]\npath\xd1\x97 = \"y\"\n"), std::string("s = \"\"\"\\\n\xc2\xa7\"\"\"\n")}) {
        auto c = parse_config(text, "/etc/fjord/fjord.toml", HostFacts{"h", "m"});
        REQUIRE_FALSE(c);
        CHECK(c.error().message.find("/etc/fjord/fjord.toml") == 0);
    }
}

TEST_CASE("every problem of a config is reported, in file order (issue 19)") {
    const std::string text = "[source]\npoll_interval = \"soon\"\n[apply]\nroto = \"/\"\nmax_deletions = -1\n[colour]\n";
    Diagnostics all;
    auto c = parse_config(text, file, facts, &all);
    REQUIRE_FALSE(c);
    CHECK(c.error().message == "/etc/fjord/fjord.toml:2:17: source.poll_interval: bad duration \"soon\" (use e.g. 500ms, 30s, 5m, 1h)");
    std::vector<std::string> got;
    for (const auto &e : all.errors()) got.push_back(e.message);
    CHECK(got == std::vector<std::string>{"/etc/fjord/fjord.toml:2:17: source.poll_interval: bad duration \"soon\" (use e.g. 500ms, 30s, 5m, 1h)",
                                          "/etc/fjord/fjord.toml:4:1: apply.roto: unknown key",
                                          "/etc/fjord/fjord.toml:5:17: apply.max_deletions: must be a non-negative integer",
                                          "/etc/fjord/fjord.toml:6:1: colour: unknown table"});
    std::string many = "[apply]\n";
    for (int i = 0; i < 300; ++i) many += "k" + std::to_string(i) + " = 1\n";
    Diagnostics capped;
    CHECK_FALSE(parse_config(many, file, facts, &capped));
    auto e = capped.errors();
    REQUIRE(e.size() == Diagnostics::max_per_file + 1);
    CHECK(e.back().message == "... and 200 more errors not shown (at most 100 are shown per file and 1000 in all)");
}

TEST_CASE("[report]: defaults from [state] and [source], %H, and every bad value names its key") {
    auto c = parse("[state]\ndir = \"/srv/fj\"\n[source]\nurl = \"git://h/fleet.git\"\nknown_hosts = \"/k/kh\"\n"
                   "[report]\nurl = \"ssh://git@h/status.git\"\n");
    REQUIRE(c);
    CHECK(c->report.url == "ssh://git@h/status.git");
    CHECK(c->report.ssh_key == "/srv/fj/ssh/report_ed25519");
    CHECK(c->report.known_hosts == "/k/kh");
    CHECK(c->report.host == "web1");
    CHECK(c->report.heartbeat == 15min);
    CHECK(c->report.timeout == 30s);
    CHECK(parse("")->report.host.empty()); // no reports, no name
    auto set = parse("[report]\nurl = \"/srv/status.git\"\nhost = \"%H-blue\"\nssh_key = \"/k/r\"\n"
                     "known_hosts = \"/k/r_kh\"\nheartbeat = \"2m\"\ntimeout = \"5s\"\n");
    REQUIRE(set);
    CHECK(set->report.host == "web1-blue");
    CHECK(set->report.ssh_key == "/k/r");
    CHECK(set->report.known_hosts == "/k/r_kh");
    CHECK(set->report.heartbeat == 2min);
    CHECK(set->report.timeout == 5s);

    CHECK(error_of("[source]\nurl = \"git://h/fleet.git\"\n[report]\nurl = \"git://h/fleet.git/\"") ==
          file + ":4:7: report.url: names the same repository as source.url (\"git://h/fleet.git\"); reports go to a "
                 "separate status repository, never the config repo");
    CHECK(error_of("[source]\nurl = \"/srv/fleet.git\"\n[report]\nurl = \"file:///srv/fleet\"").find("report.url: names the same repository as source.url") != std::string::npos);
    CHECK(error_of("[report]\nurl = \"https://h/status.git\"").starts_with(file + ":2:7: report.url: must be an ssh://, git:// or file:// URL"));
    CHECK(error_of("[report]\nurl = \"status\"").starts_with(file + ":2:7: report.url: must be"));
    CHECK(error_of("[report]\nurl = \"ssh://u:pw@h/s.git\"") ==
          file + ":2:7: report.url: must not carry a password (reports are pushed with report.ssh_key)");
    CHECK(error_of("[report]\nurl = \"/s\"\nhost = \"web/1\"") ==
          file + ":3:8: report.host: \"web/1\": only letters, digits, '.', '_' and '-' may be used (it names a Git ref)");
    CHECK(error_of("[report]\nhost = \"x.lock\"").find("report.host: \"x.lock\": may not end in") != std::string::npos);
    CHECK(error_of("[report]\nhost = \"%x\"") == file + ":2:8: report.host: unknown \"%x\" in \"%x\" (use %H, %m or %%)");
    CHECK(error_of("[report]\nssh_key = \"rel\"") == file + ":2:11: report.ssh_key: must be an absolute path");
    CHECK(error_of("[report]\nknown_hosts = 3") == file + ":2:15: report.known_hosts: must be a string");
    CHECK(error_of("[report]\nheartbeat = \"often\"").starts_with(file + ":2:13: report.heartbeat: "));
    CHECK(error_of("[report]\ntimeout = \"0s\"").starts_with(file + ":2:11: report.timeout: "));
    CHECK(error_of("[report]\nurll = \"/s\"") == file + ":2:1: report.urll: unknown key");
    // The default %H on a host whose name cannot be a ref: named, with what to do.
    auto odd = parse_config("[report]\nurl = \"/s\"", file, HostFacts{"web_1:x", ""});
    REQUIRE_FALSE(odd);
    CHECK(odd.error().message == file + ":2:7: report.host: %H gives \"web_1:x\": only letters, digits, '.', '_' and '-' may be "
                                        "used (it names a Git ref); set report.host");
}
