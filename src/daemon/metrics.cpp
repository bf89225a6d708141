#include "daemon/metrics.hpp"

#include "prereq/report.hpp"
#include "util/fs.hpp"
#include "version.hpp"
#include <cstdio>
#include <sys/stat.h>

namespace fjord {
namespace {

// Label values are escaped as the exposition format asks: backslash, quote and newline.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

class Writer {
  public:
    void family(const char *name, const char *type, const char *help) {
        out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const char *name, const std::string &labels, const std::string &value) {
        out_ += name;
        if (!labels.empty()) out_ += "{" + labels + "}";
        out_ += " " + value + "\n";
    }
    void one(const char *name, const char *type, const char *help, const std::string &value) {
        family(name, type, help);
        sample(name, "", value);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

} // namespace

const char *poll_error_reason(Errc code) {
    switch (code) {
    case Errc::network:
    case Errc::unavailable:
    case Errc::io: return "network";
    case Errc::auth: return "auth";
    case Errc::refused:
    case Errc::guardrail: return "refused";
    case Errc::invalid: return "invalid";
    case Errc::not_found: return "not_found";
    default: return "other";
    }
}

void count_poll_error(AgentStatus &s, Errc code) { ++s.poll_errors[poll_error_reason(code)]; }

std::string render_metrics(const AgentStatus &s, const std::vector<prereq::CheckResult> &prereqs) {
    Writer w;
    w.family("fjord_info", "gauge", "fjord's version and the commit of the current generation (always 1).");
    w.sample("fjord_info", "version=\"" + label(FJORD_VERSION) + "\",commit=\"" + label(s.commit) + "\"", "1");
    w.one("fjord_generation", "gauge", "The last good generation applied.", std::to_string(s.generation));
    w.one("fjord_managed_files", "gauge", "Paths the current generation manages.", std::to_string(s.managed));
    w.one("fjord_last_sync_timestamp_seconds", "gauge", "When the last sync ended, whatever its result.", std::to_string(s.last_sync));
    w.one("fjord_last_success_timestamp_seconds", "gauge", "When a sync last ended applied or up to date.",
          std::to_string(s.last_success));
    w.one("fjord_last_drift_timestamp_seconds", "gauge", "When the last drift pass ended.", std::to_string(s.last_drift));
    w.one("fjord_apply_duration_seconds", "gauge", "How long the last apply took, health checks included.", number(s.apply_seconds));
    w.one("fjord_drifted_files", "gauge", "Managed paths found drifted by the last pass and not corrected.", std::to_string(s.drifted));
    w.one("fjord_suspended", "gauge", "1 while applying is suspended, pinned or halted.", s.suspended.empty() ? "0" : "1");
    w.one("fjord_changes_applied_total", "counter", "Paths written, removed or restored by applied generations.",
          std::to_string(s.changes_total));
    w.one("fjord_rollbacks_total", "counter", "Generations rolled back after failed health checks or a failed apply.",
          std::to_string(s.rollbacks_total));
    w.one("fjord_drift_corrections_total", "counter", "Drifted managed paths put back to the current generation.",
          std::to_string(s.drift_corrections_total));
    w.one("fjord_image_updates_total", "counter", "Image updates (update = \"glob:...\") applied and marked good.",
          std::to_string(s.image_updates_total));
    w.one("fjord_registry_errors_total", "counter", "Registry checks of image automation that failed, per container.",
          std::to_string(s.registry_errors_total));
    w.one("fjord_renders_total", "counter", "Renders of a commit in the sandboxed render child.", std::to_string(s.renders_total));
    w.one("fjord_partial_renders_total", "counter", "Of those, renders of only what changed since the current generation.",
          std::to_string(s.partial_renders_total));
    // Every reason is written, zero or not, so rate() sees a series from its start.
    w.family("fjord_poll_errors_total", "counter", "Failed polls and fetches of the Git remote, by reason.");
    for (const char *r : poll_error_reasons) {
        auto it = s.poll_errors.find(r);
        w.sample("fjord_poll_errors_total", std::string("reason=\"") + r + "\"", std::to_string(it == s.poll_errors.end() ? 0 : it->second));
    }
    w.family("fjord_last_sync_result", "gauge", "The result of the last sync (1 for the current one).");
    for (const char *r : {"up-to-date", "applied", "dry-run", "refused", "failed", "suspended", "not-configured", "waiting"})
        w.sample("fjord_last_sync_result", std::string("result=\"") + r + "\"", s.last_result == r ? "1" : "0");
    // fleet.toml's wave gate: 1 while the newest commit waits for an earlier wave or is halted;
    // the reason is in status (fjordctl status, STATUS=).
    w.family("fjord_fleet_waiting", "gauge", "1 while a rollout wave gate holds the newest commit back (waiting or halted).");
    w.sample("fjord_fleet_waiting", "commit=\"" + label(s.rollout_commit) + "\",wave=\"" + label(s.wave) + "\",state=\"" + label(s.rollout) + "\"",
             s.rollout.empty() ? "0" : "1");
    if (!prereqs.empty()) {
        w.family("fjord_prerequisite_status", "gauge", "Host prerequisite checks: 0 pass, 1 warn, 2 fail.");
        for (const auto &p : prereqs)
            w.sample("fjord_prerequisite_status", "check=\"" + label(p.check) + "\",subject=\"" + label(p.subject) + "\"",
                     std::to_string(static_cast<int>(p.status)));
    }
    return w.take();
}

Status write_metrics(const std::string &path, const std::string &state_dir, const AgentStatus &s) {
    if (path.empty()) return {};
    struct stat st;
    if (::stat(dirname_of(path).c_str(), &st) < 0) return {}; // node_exporter is not installed
    std::vector<prereq::CheckResult> prereqs;
    if (auto saved = prereq::read_saved(state_dir)) prereqs = std::move(saved->results);
    // Read by node_exporter while fjordd runs and written again at every save: never fsynced.
    return write_file_atomic(path, render_metrics(s, prereqs), 0644, false);
}

std::string report_metrics_path(const std::string &metrics_textfile) {
    if (metrics_textfile.empty()) return {};
    std::string base = metrics_textfile.ends_with(".prom") ? metrics_textfile.substr(0, metrics_textfile.size() - 5) : metrics_textfile;
    return base + "-report.prom";
}

std::string render_report_metrics(std::uint64_t push_failures_total, std::int64_t last_push) {
    Writer w;
    w.family("fjord_report_push_failures_total", "counter", "Fleet report pushes to the status repository that failed.");
    w.sample("fjord_report_push_failures_total", "", std::to_string(push_failures_total));
    w.family("fjord_report_last_push_timestamp_seconds", "gauge", "When the last fleet report push worked (0 = never).");
    w.sample("fjord_report_last_push_timestamp_seconds", "", std::to_string(last_push));
    return w.take();
}

Status write_report_metrics(const std::string &metrics_textfile, std::uint64_t push_failures_total, std::int64_t last_push) {
    std::string path = report_metrics_path(metrics_textfile);
    if (path.empty()) return {};
    struct stat st;
    if (::stat(dirname_of(path).c_str(), &st) < 0) return {}; // node_exporter is not installed
    return write_file_atomic(path, render_report_metrics(push_failures_total, last_push), 0644, false);
}

} // namespace fjord
