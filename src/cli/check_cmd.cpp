#include "cli/check_cmd.hpp"

#include "prereq/prereq.hpp"
#include "prereq/report.hpp"
#include "util/parse.hpp"
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace fjord {
namespace {

using prereq::CheckResult;
using prereq::CheckStatus;

constexpr const char *check_usage = "usage: fjordctl [--config FILE] check [--json] [--fast]\n";

// Progress for a person waiting at a terminal; scripts and --json get none.
void progress(bool on, const std::string &what) {
    if (on) std::fprintf(stderr, "%s\n", what.c_str());
}

void print_text(const std::vector<CheckResult> &results, PrereqMode mode) {
    std::size_t wl = 0, wv = 0;
    for (const auto &r : results) {
        wl = std::max(wl, r.label().size());
        wv = std::max(wv, r.value.size());
    }
    int counts[3] = {0, 0, 0};
    for (const auto &r : results) {
        ++counts[int(r.status)];
        std::printf("%-4s  %-*s  %-*s  want %s\n", prereq::status_name(r.status), int(wl), r.label().c_str(), int(wv),
                    r.value.c_str(), r.threshold.c_str());
        if (r.status == CheckStatus::pass) continue;
        std::printf("      %s\n", r.problem.c_str());
        if (!r.remedy.empty()) std::printf("      fix: %s\n", r.remedy.c_str());
    }
    std::printf("%d pass, %d warn, %d fail (prerequisites.mode = %s)\n", counts[0], counts[1], counts[2], prereq::mode_name(mode));
}

std::string when(std::int64_t t) { return format_time(t); }

} // namespace

int run_check(const Config &cfg, const std::vector<std::string> &args) {
    bool json = false, fast = false;
    for (const auto &a : args) {
        if (a == "--json") json = true;
        else if (a == "--fast") fast = true;
        else {
            std::fprintf(stderr, "fjordctl: check: unknown argument %s\n%s", a.c_str(), check_usage);
            return 2;
        }
    }
    bool tty = !json && ::isatty(STDERR_FILENO);
    prereq::Prereq p(cfg);
    p.run_instant();
    if (!fast) {
        progress(tty, "measuring CPU steal for " + format_duration(cfg.prerequisites.steal_window) + " ...");
        p.measure_steal();
        for (const auto &t : p.probe_targets())
            if (t.error.empty())
                progress(tty, "timing fdatasync of " + prereq::format_bytes(cfg.prerequisites.probe_size) + " in 2300-byte writes in " +
                                  t.dir + " ...");
        p.measure_fsync();
    }
    auto results = p.results();
    if (json) {
        auto j = prereq::report_json(results);
        j["mode"] = prereq::mode_name(cfg.prerequisites.mode);
        j["fast"] = fast;
        std::printf("%s\n", j.dump(2).c_str());
    } else {
        print_text(results, cfg.prerequisites.mode);
    }
    return prereq::worst(results) == CheckStatus::fail ? 1 : 0;
}

void add_prereq_status(const Config &cfg, nlohmann::json &status) {
    auto s = prereq::read_saved(cfg.state.dir);
    if (!s) return;
    auto j = prereq::report_json(s->results);
    j["checked_at"] = s->checked_at;
    j["mode"] = s->mode;
    status["prerequisites"] = j;
}

void print_prereq_status(const nlohmann::json &status) {
    if (!status.contains("prerequisites") || !status["prerequisites"].is_object()) return;
    const auto &p = status["prerequisites"];
    // Read defensively: the file is fjordd's, but a hand-edited one must not crash status.
    try {
        const auto &c = p.at("counts");
        std::printf("prereqs:     %d pass, %d warn, %d fail (checked %s, mode %s)\n", c.value("pass", 0), c.value("warn", 0),
                    c.value("fail", 0), when(p.value("checked_at", std::int64_t{0})).c_str(), p.value("mode", "?").c_str());
        for (const auto &r : p.at("checks")) {
            std::string st = r.value("status", "");
            if (st == "pass") continue;
            std::string label = r.value("check", "") + (r.value("subject", "").empty() ? "" : " " + r.value("subject", ""));
            std::printf("             %s %s: %s\n", st.c_str(), label.c_str(), r.value("problem", "").c_str());
        }
    } catch (const nlohmann::json::exception &) {
        std::printf("prereqs:     unreadable (fjordctl check measures them now)\n");
    }
}

} // namespace fjord
