#pragma once
// What one host should look like, rendered from its folder of one commit (DESIGN.md §4).
// Pure values: no I/O to the host.
#include "manifest/vars.hpp"
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace fjord {

enum class FileKind { file, symlink };

/// One path fjord manages under apply.root.
struct FileSpec {
    std::string path;        ///< host path, absolute and normalised: "/etc/nginx/nginx.conf"
    FileKind kind = FileKind::file;
    std::string id;          ///< Git blob id of the content (files)
    std::string target;      ///< link target (symlinks), relative, checked to stay inside apply.root
    unsigned mode = 0644;    ///< permission bits only (no setuid/setgid/sticky)
    std::string owner = "root";
    std::string group = "root";
    std::string origin;      ///< repo path it came from, for messages ("hosts/web1/files/etc/x")
    std::vector<std::string> validate; ///< argv run on the staged file ("%s" = its path); later issues
    bool secret = false;     ///< decrypted from .age: `id` is the ciphertext's blob, content never shown or stored
    std::string secret_mac;  ///< secrets: keyed digest of the plaintext (AgeIdentity::digest), for drift; "" = unknown

    friend bool operator==(const FileSpec &, const FileSpec &) = default;
};

/// A `[unit."NAME"]` table, parsed and type-checked; applied by the systemd issue.
struct UnitSpec {
    std::string name;
    std::string id;          ///< blob id of units/NAME when present
    std::map<std::string, std::string> dropins; ///< units/NAME.d/X.conf: "X.conf" -> blob id
    std::string origin;      ///< repo path of units/NAME ("" when only a [unit] table names it)
    bool enable = true;
    std::string state = "started";   ///< started | stopped
    std::string on_change = "restart"; ///< restart | reload | none
    std::vector<std::string> watch;
    std::vector<std::string> pre_restart;
    std::string memory, cpu;

    friend bool operator==(const UnitSpec &, const UnitSpec &) = default;
};

/// The longest `timeout` a [[hook]] may have: a hook holds up the whole sync.
inline constexpr std::int64_t max_hook_timeout_ms = 3'600'000;

/// A `[[hook]]`.
struct HookSpec {
    std::string when; ///< pre-apply | post-apply | post-rollback
    std::vector<std::string> exec;
    std::int64_t timeout_ms = 30'000;

    friend bool operator==(const HookSpec &, const HookSpec &) = default;
};

/// A `[[check]]`, parsed and type-checked; run by the health-check issue.
struct CheckSpec {
    std::string name;
    std::string http, tcp, unit, container;
    std::vector<std::string> exec;
    std::int64_t expect_status = 200;
    std::string expect_body;
    std::int64_t initial_delay_ms = 0, period_ms = 2'000, timeout_ms = 1'000;
    std::int64_t failure_threshold = 3;

    friend bool operator==(const CheckSpec &, const CheckSpec &) = default;
};

/// A published port: "[ip:]hostport:containerport[/proto]".
struct PortSpec {
    std::string host_ip;          ///< "" = every address
    std::uint16_t host_port = 0;
    std::uint16_t container_port = 0;
    std::string protocol = "tcp"; ///< tcp | udp

    friend bool operator==(const PortSpec &, const PortSpec &) = default;
};

/// A bind mount: "host:container[:ro]".
struct VolumeSpec {
    std::string host;       ///< absolute normalised host path, below apply.root as files are (podman gets ROOT/host)
    std::string container;  ///< absolute path inside the container
    bool read_only = false;

    friend bool operator==(const VolumeSpec &, const VolumeSpec &) = default;
};

/// A container's own health command, run by fjord through the podman API (podman's timers
/// need systemd) when a `container` check names the container.
struct ContainerHealthSpec {
    std::vector<std::string> command;     ///< argv run inside the container; exit 0 = healthy
    std::int64_t interval_ms = 30'000;    ///< also given to podman, so `podman healthcheck run` agrees
    std::int64_t timeout_ms = 5'000;
    std::int64_t retries = 3;

    friend bool operator==(const ContainerHealthSpec &, const ContainerHealthSpec &) = default;
};

/// A `[container.NAME]` table or containers/NAME.toml: one podman container.
struct ContainerSpec {
    std::string name;
    std::string image;                          ///< "registry.example.net/app:1.2.3" (or "...@sha256:...")
    std::vector<std::string> command;           ///< argv; empty = the image's CMD
    std::map<std::string, std::string> env;
    std::vector<PortSpec> ports;
    std::vector<VolumeSpec> volumes;
    std::uint64_t memory = 0;                   ///< bytes; 0 = no limit
    std::int64_t cpus_milli = 0;                ///< thousandths of a CPU ("0.5" = 500); 0 = no limit
    std::string restart = "always";             ///< no | on-failure | always | unless-stopped
    std::map<std::string, std::string> labels;  ///< the operator's; io.fjord.* are fjord's own
    std::string update;                         ///< "" | "glob:PATTERN" | "semver:RANGE" (image automation)
    std::optional<ContainerHealthSpec> healthcheck;
    std::string origin; ///< where it was defined: "hosts/web1/containers/web.toml", "hosts/web1/fjord.toml:12:1"

    friend bool operator==(const ContainerSpec &, const ContainerSpec &) = default;
};

/// The whole desired state of a host.
struct DesiredState {
    std::string commit;                       ///< the commit rendered ("" for a folder on disk)
    std::map<std::string, FileSpec> files;    ///< by host path, sorted
    std::unordered_map<std::string, std::string> blobs; ///< content not in the repo (rendered templates), by id
    VarTable vars;                            ///< [vars] merged: bundles first, the host last (tables merge key by key)
    std::map<std::string, UnitSpec> units;
    std::map<std::string, ContainerSpec> containers;
    std::vector<HookSpec> hooks;
    std::vector<CheckSpec> checks;
    std::vector<std::string> includes;        ///< folders merged, in order, host last ("." = the repo root)
    /// A render of only what changed since the base commit (RenderOptions::base_commit): `files`
    /// holds the paths of `touched` that exist (and the unit files); every other path of the
    /// base is unchanged. complete_partial() (manifest/validate.hpp) makes it whole.
    bool partial = false;
    std::set<std::string> touched;

    friend bool operator==(const DesiredState &, const DesiredState &) = default;
};

} // namespace fjord
