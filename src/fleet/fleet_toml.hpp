#pragma once
// fleet.toml (issue 20): the rollout policy at the root of the fleet repo, read from the commit
// being rolled out, so the policy is versioned with what it rolls out. `[[wave]]` tables place
// hosts (globs or a stable percent) and say when each wave may apply a commit. Pure.
#include "util/diagnostics.hpp"
#include "util/parse.hpp"
#include "util/result.hpp"
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fjord::fleet {

/// "waves": hosts apply wave by wave; "all": every host applies at once (no gate).
enum class FleetMode { waves, all };

/// One `[[wave]]`.
struct Wave {
    std::string name;
    std::vector<std::string> hosts;     ///< fnmatch globs on the report host name
    std::optional<double> percent;      ///< hosts whose bucket(host) < percent
    Duration after{0};                  ///< how long the previous wave must have met `require`
    double require = 100.0;             ///< share (percent) of the previous wave's hosts good for the commit
    std::uint64_t max_failures = 0;     ///< failures for the commit tolerated in earlier waves
    bool implicit = false;              ///< the "rest" wave fjord adds for hosts in no wave
    /// Takes every host not placed earlier (neither hosts nor percent).
    [[nodiscard]] bool takes_rest() const { return hosts.empty() && !percent; }
};

/// A parsed fleet.toml. `waves` ends with a wave that takes every host left: the last one
/// written, or an implicit "rest" with the last wave's after/require/max_failures.
struct FleetPolicy {
    FleetMode mode = FleetMode::waves;
    std::vector<Wave> waves;
};

inline constexpr std::string_view fleet_toml_name = "fleet.toml";
/// A fleet.toml larger than this is refused (a policy, not data).
inline constexpr std::size_t max_fleet_toml_bytes = 256 * 1024;
/// At most this many waves, and globs per wave.
inline constexpr std::size_t max_waves = 64, max_globs = 1024;

/// Parses fleet.toml `text`; errors read "ORIGIN:LINE:COL: key: reason" (ORIGIN names the
/// file, e.g. "fleet.toml" or "<commit>:fleet.toml"). With `all`, every error goes there too.
[[nodiscard]] Result<FleetPolicy> parse_fleet_toml(std::string_view text, const std::string &origin,
                                                   Diagnostics *all = nullptr);

/// The index in policy.waves of the wave `host` belongs to: the first that matches (a glob in
/// `hosts`, or bucket(host) < percent), else the first that takes the rest.
[[nodiscard]] std::size_t wave_of(const FleetPolicy &policy, std::string_view host);

} // namespace fjord::fleet
