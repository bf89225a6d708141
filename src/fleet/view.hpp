#pragma once
// `fjordctl fleet`: the status repository read back (reports and markers, fleet/marker.hpp) as
// one line per host and, per recent commit, how many hosts are good, failed, waiting or not yet
// reporting, wave by wave. Pure: the refs and report texts come from the caller.
#include "fleet/report.hpp"
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fjord::fleet {

/// What the status repository holds, as read: refs/fjord/hosts/* (each with its report.json's
/// text, or why it could not be read) and refs/fjord/waves/*/* (ref -> object id).
struct StatusRead {
    struct HostEntry {
        std::string ref;
        std::string text;  ///< report.json
        std::string error; ///< why it could not be read ("" = text holds it)
    };
    std::vector<HostEntry> hosts;
    std::vector<std::pair<std::string, std::string>> markers;
};

struct HostRow {
    std::string host, commit, wave, state, reason;
    std::uint64_t generation = 0;
    std::int64_t time = 0; ///< the report's time (0 = no report)
    bool stale = false;    ///< the last report is older than 3 heartbeats
};

struct WaveCount {
    std::string name;
    std::size_t hosts = 0, good = 0, failed = 0, waiting = 0, other = 0; ///< other: on another commit, not yet reporting this one
};

struct CommitRow {
    std::string commit;
    std::int64_t last_seen = 0; ///< newest time a report names it
    std::size_t good = 0, failed = 0, waiting = 0, not_reporting = 0;
    std::vector<WaveCount> waves; ///< in `wave_order`, then by name
    std::string rollout;          ///< "complete", "halted in wave canary (web3 failed)", "in progress: wave early"...
};

struct FleetView {
    std::vector<HostRow> hosts;       ///< by host name
    std::vector<CommitRow> commits;   ///< newest first
    std::vector<std::string> problems; ///< reports or refs that could not be read, each named
};

/// Builds the view. `only_commit`: that commit (7 to 40 hex digits, a prefix of a commit some
/// report names) instead of the `recent` newest; `wave_order`: wave names in rollout order
/// (from fleet.toml when the caller has it).
[[nodiscard]] Result<FleetView> build_view(const StatusRead &in, std::int64_t now, std::int64_t heartbeat_s, std::size_t recent = 3,
                                           const std::string &only_commit = "", const std::vector<std::string> &wave_order = {});

/// "12s", "4m", "3h", "2d".
[[nodiscard]] std::string age_text(std::int64_t seconds);
/// The plain table `fjordctl fleet` prints.
[[nodiscard]] std::string view_text(const FleetView &v, std::int64_t now);
/// The same as JSON.
[[nodiscard]] std::string view_json(const FleetView &v, std::int64_t now);

} // namespace fjord::fleet
