#include "daemon/metrics.hpp"

#include "util/fs.hpp"
#include <sys/stat.h>

namespace fjord {

std::string render_metrics(const AgentStatus &s, std::size_t managed_files) {
    std::string out;
    auto gauge = [&](const char *name, const char *help, const std::string &value) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " + value + "\n";
    };
    gauge("fjord_generation", "The last good generation applied.", std::to_string(s.generation));
    gauge("fjord_managed_files", "Paths the current generation manages.", std::to_string(managed_files));
    gauge("fjord_last_sync_timestamp_seconds", "When the last sync ended.", std::to_string(s.last_sync));
    gauge("fjord_last_drift_timestamp_seconds", "When the last drift pass ended.", std::to_string(s.last_drift));
    gauge("fjord_drifted_files", "Managed paths found drifted by the last pass and not corrected.", std::to_string(s.drifted));
    gauge("fjord_suspended", "1 while applying is suspended or pinned.", s.suspended.empty() ? "0" : "1");
    out += "# HELP fjord_last_sync_result The result of the last sync (1 for the current one).\n"
           "# TYPE fjord_last_sync_result gauge\n";
    for (const char *r : {"up-to-date", "applied", "dry-run", "refused", "failed", "suspended", "not-configured"})
        out += std::string("fjord_last_sync_result{result=\"") + r + "\"} " + (s.last_result == r ? "1" : "0") + "\n";
    return out;
}

Status write_metrics(const std::string &path, const AgentStatus &s, std::size_t managed_files) {
    if (path.empty()) return {};
    struct stat st;
    if (::stat(dirname_of(path).c_str(), &st) < 0) return {}; // node_exporter is not installed
    return write_file_atomic(path, render_metrics(s, managed_files), 0644);
}

} // namespace fjord
