#pragma once
// The agent's configuration, /etc/fjord/fjord.toml (DESIGN.md §3), as typed values.
// Every key is parsed and type-checked, including those of features still to come; an
// unknown key is an error. Errors read "FILE:LINE:COL: key: reason".
#include "util/parse.hpp"
#include "util/diagnostics.hpp"
#include "util/result.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// [source]: where the desired state comes from.
struct SourceConfig {
    std::string url;                 ///< ssh://, https://, file://, git:// or a local path; "" = not configured
    std::string branch = "main";     ///< followed when tag is empty
    std::string tag;                 ///< glob; when set, the newest matching tag is followed
    std::string path = ".";          ///< this host's folder in the repo, %H/%m/%% already expanded
    std::string path_template = "."; ///< source.path as written
    Duration poll_interval{60'000};
    std::string ssh_key = "/var/lib/fjord/ssh/id_ed25519";
    std::string known_hosts = "/etc/fjord/known_hosts";
    std::string token_file;
    std::string allowed_signers;
    bool accept_history_rewrite = false;

    friend bool operator==(const SourceConfig &, const SourceConfig &) = default;
};

/// apply.drift: what to do about live edits to managed files.
enum class DriftMode { correct, report, ignore };

/// [apply]: how the desired state lands on the host.
struct ApplyConfig {
    std::string root = "/";
    bool prune = true;
    std::uint32_t max_deletions = 20;
    DriftMode drift = DriftMode::correct;
    Duration drift_interval{300'000};
    std::vector<std::string> protect{"/boot", "/etc/passwd", "/etc/shadow", "/etc/fjord"};
    std::uint64_t max_files = 100'000;
    std::uint64_t max_file_size = 64ull << 20;

    friend bool operator==(const ApplyConfig &, const ApplyConfig &) = default;
};

/// [health]: what a new generation must pass to be kept.
struct HealthConfig {
    Duration timeout{120'000};
    bool require_source_reachable = true;

    friend bool operator==(const HealthConfig &, const HealthConfig &) = default;
};

/// prerequisites.mode: whether a failing host check only warns or also blocks applying.
enum class PrereqMode { off, warn, block };

/// [prerequisites]: the host checks of `fjordctl check` and their thresholds.
struct PrereqConfig {
    PrereqMode mode = PrereqMode::warn;
    std::vector<std::string> schedulers{"none", "mq-deadline"};
    Duration max_fdatasync_p99{10};
    double max_steal = 5.0; ///< percent
    std::vector<std::string> paths;
    Duration check_interval{3'600'000};
    Duration probe_interval{86'400'000};
    std::uint64_t probe_size = 22ull << 20;
    Duration steal_window{5'000};

    friend bool operator==(const PrereqConfig &, const PrereqConfig &) = default;
};

/// [systemd]: how units are activated.
struct SystemdConfig {
    std::string bus; ///< "" = the system bus

    friend bool operator==(const SystemdConfig &, const SystemdConfig &) = default;
};

/// [podman]: where containers are run.
struct PodmanConfig {
    std::string socket = "/run/podman/podman.sock";
    Duration registry_poll_interval{300'000};
    std::string registry_auth_file; ///< podman's auth.json format; "" = anonymous registry access only

    friend bool operator==(const PodmanConfig &, const PodmanConfig &) = default;
};

/// [secrets]: the host's age identity for *.age files.
struct SecretsConfig {
    std::string identity = "/var/lib/fjord/age/identity";

    friend bool operator==(const SecretsConfig &, const SecretsConfig &) = default;
};

/// [state]: fjord's own state directory and history.
struct StateConfig {
    std::string dir = "/var/lib/fjord";
    std::uint32_t keep_generations = 20;

    friend bool operator==(const StateConfig &, const StateConfig &) = default;
};

/// [report]: the fleet status repository this host pushes its report to (issue 20).
struct ReportConfig {
    std::string url;         ///< ssh://, git://, file:// or a path; "" = no reports
    std::string ssh_key = "/var/lib/fjord/ssh/report_ed25519"; ///< default state.dir/ssh/report_ed25519, made at fjordd's start
    std::string known_hosts = "/etc/fjord/known_hosts";         ///< default source.known_hosts
    std::string host; ///< the name in refs, %H already expanded (default: the hostname); "" while url is ""
    std::string host_template = "%H";
    Duration heartbeat{900'000};
    Duration timeout{30'000}; ///< one push, connection included, then the child is killed

    friend bool operator==(const ReportConfig &, const ReportConfig &) = default;
};

/// log.level: the lowest level logged.
enum class LogLevel { debug, info, warning, error };

/// notify.format: the receiver's API. The last three write commit statuses to the Git host.
enum class NotifyFormat { json, slack, discord, teams, matrix, github, gitlab, gitea };

/// One [[notify]] target.
struct NotifyConfig {
    std::string url;
    std::vector<std::string> events{"applied", "rolled_back", "failed", "drift"};
    NotifyFormat format = NotifyFormat::json;
    std::string token_file; ///< read at each send, never kept in the config; "" = none

    friend bool operator==(const NotifyConfig &, const NotifyConfig &) = default;
};

/// A notify.format as written in the config ("github").
[[nodiscard]] std::string_view notify_format_name(NotifyFormat f);
/// The formats that write commit statuses to a Git host (github, gitlab, gitea).
[[nodiscard]] inline bool is_commit_status(NotifyFormat f) {
    return f == NotifyFormat::github || f == NotifyFormat::gitlab || f == NotifyFormat::gitea;
}

/// The whole agent configuration.
struct Config {
    std::string file; ///< where it was read from
    SourceConfig source;
    ApplyConfig apply;
    HealthConfig health;
    PrereqConfig prerequisites;
    SystemdConfig systemd;
    PodmanConfig podman;
    SecretsConfig secrets;
    StateConfig state;
    ReportConfig report;
    LogLevel log_level = LogLevel::info;
    std::string metrics_textfile = "/var/lib/prometheus/node-exporter/fjord.prom";
    std::vector<NotifyConfig> notify;

    friend bool operator==(const Config &, const Config &) = default;
};

/// Host facts that source.path may name: %H and %m.
struct HostFacts {
    std::string hostname;
    std::string machine_id;

    friend bool operator==(const HostFacts &, const HostFacts &) = default;
};

/// Parses TOML text; `file` names it in errors. A missing key takes its default. The error
/// is the earliest problem in the file, "FILE:LINE:COL: table.key: reason"; with `all`, every
/// problem is added there too (in file order, bounded: util/diagnostics.hpp).
[[nodiscard]] Result<Config> parse_config(std::string_view text, const std::string &file, const HostFacts &facts,
                                          Diagnostics *all = nullptr);
/// Reads and parses a config file (the file must exist); `all` as for parse_config.
[[nodiscard]] Result<Config> load_config(const std::string &file, const HostFacts &facts, Diagnostics *all = nullptr);
/// Expands %H, %m and %% in source.path; any other % sequence is an error.
[[nodiscard]] Result<std::string> expand_path_template(std::string_view tmpl, const HostFacts &facts);

/// How source.url is reached, so callers need not re-parse it.
enum class Transport { none, ssh, https, http, file, git, local };
/// The transport of a source.url that parse_config accepted; scp-like "user@host:path" is ssh,
/// an absolute path is local, "" is none.
[[nodiscard]] Transport url_transport(std::string_view url);

/// The default config file.
inline constexpr const char *default_config_file = "/etc/fjord/fjord.toml";

} // namespace fjord
