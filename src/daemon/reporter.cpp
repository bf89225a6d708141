#include "daemon/reporter.hpp"

#include "control/report.hpp"
#include "daemon/log.hpp"
#include "daemon/metrics.hpp"
#include "prereq/report.hpp"
#include "util/command.hpp"
#include "util/fs.hpp"
#include "version.hpp"
#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace fjord {
namespace {

using json = nlohmann::json;
constexpr const char *state_file = "/fleet-report.json";

} // namespace

Result<ReportState> read_report_state(const std::string &state_dir) {
    const std::string path = state_dir + state_file;
    ReportState s;
    if (::access(path.c_str(), F_OK) < 0) return s;
    auto text = read_file(path, 1u << 20);
    if (!text) return fail(std::move(text.error()));
    json j = json::parse(*text, nullptr, false);
    // A damaged file costs the list of judged commits and the counters, never a push.
    if (!j.is_object()) return fail(Errc::corrupt, path + ": not a JSON object");
    if (auto it = j.find("marker_ref"); it != j.end() && it->is_string() && fleet::parse_marker_ref(it->get<std::string>()))
        s.marker_ref = it->get<std::string>();
    if (auto it = j.find("push_failures_total"); it != j.end() && it->is_number_unsigned()) s.push_failures_total = it->get<std::uint64_t>();
    if (auto it = j.find("last_push"); it != j.end() && it->is_number_integer()) s.last_push = it->get<std::int64_t>();
    // The judged list is read back through the report parser: the same bounds and forms.
    if (auto it = j.find("judged"); it != j.end()) {
        json probe{{"schema", 1}, {"host", "x"}, {"judged", *it}};
        if (auto r = fleet::parse_report(probe.dump(), path)) s.judged = std::move(r->judged);
    }
    return s;
}

Status write_report_state(const std::string &state_dir, const ReportState &s) {
    json judged = json::array();
    for (const auto &j : s.judged) judged.push_back({{"commit", j.commit}, {"outcome", j.outcome}, {"reason", j.reason}, {"time", j.time}});
    json j{{"marker_ref", s.marker_ref}, {"judged", judged}, {"push_failures_total", s.push_failures_total}, {"last_push", s.last_push}};
    return write_file_atomic(state_dir + state_file, j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", 0600, false);
}

Result<std::string> ensure_report_key(const ReportConfig &cfg) {
    if (::access(cfg.ssh_key.c_str(), F_OK) == 0) return std::string{};
    std::string dir = cfg.ssh_key.substr(0, cfg.ssh_key.rfind('/'));
    if (dir.empty()) dir = "/";
    if (auto ok = mkdir_p(dir, 0700); !ok) return fail(std::move(ok.error()).context("report.ssh_key"));
    Command c;
    c.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fjord-report@" + cfg.host, "-f", cfg.ssh_key};
    c.timeout = std::chrono::seconds(30);
    auto r = run_command(c);
    if (!r) return fail(std::move(r.error()).context("report.ssh_key: ssh-keygen"));
    if (!r->ok())
        return fail(Errc::io, "report.ssh_key: ssh-keygen -t ed25519 -f " + cfg.ssh_key + ": " + r->status() + ": " + r->shown_output());
    return "made the report key " + cfg.ssh_key + " (ed25519); give its public half (fjordctl identity) write access to the status repository";
}

std::vector<fleet::Judged> add_judged(std::vector<fleet::Judged> judged, const AgentStatus &s) {
    std::string outcome = fleet::judged_outcome(s.attempted_outcome);
    if (s.attempted_commit.size() != 40 || outcome.empty()) return judged;
    fleet::Judged j{s.attempted_commit, outcome, bounded(s.attempted_reason, fleet::max_report_reason), s.attempted_time};
    if (!judged.empty() && judged.front().commit == j.commit) judged.front() = j; // judged again: the newest word
    else judged.insert(judged.begin(), j);
    if (judged.size() > fleet::max_judged) judged.resize(fleet::max_judged);
    return judged;
}

fleet::HostReport build_report(const ReportConfig &cfg, const std::string &state_dir, const AgentStatus &s,
                               const std::vector<fleet::Judged> &judged, std::int64_t now) {
    fleet::HostReport r;
    r.host = cfg.host;
    r.fjord_version = FJORD_VERSION;
    r.time = now;
    r.commit = s.commit;
    r.generation = s.generation;
    r.wave = s.wave.empty() ? "all" : s.wave;
    fleet::Standing st{s.rollout, s.rollout_commit, s.remote_head, s.attempted_commit, s.attempted_outcome, s.commit};
    auto mark = fleet::mark_of(st);
    r.state = mark ? mark->report_state : "waiting";
    r.reason = !s.rollout.empty() ? s.rollout_reason : r.state == "failed" ? s.attempted_reason : "";
    r.judged = judged;
    // The checks of the newest generation judged (or the current one).
    std::uint64_t gen = s.attempted_generation ? s.attempted_generation : s.generation;
    if (gen > 0)
        if (auto rep = read_generation_report(state_dir, gen))
            for (const auto &step : rep->steps)
                if (step.kind == "check") (step.result == "passed" ? r.health_passed : r.health_failed)++;
    if (auto saved = prereq::read_saved(state_dir))
        for (const auto &c : saved->results)
            (c.status == prereq::CheckStatus::pass ? r.prereq_pass : c.status == prereq::CheckStatus::warn ? r.prereq_warn : r.prereq_fail)++;
    return r;
}

Result<std::unique_ptr<Reporter>> Reporter::start(const Config &cfg) {
    if (cfg.report.url.empty()) return std::unique_ptr<Reporter>();
    std::shared_ptr<GitSource> cache;
    {
        auto c = open_report_cache(cfg.report, cfg.state.dir + "/report.git");
        if (!c) return fail(std::move(c.error()));
        cache = std::move(*c);
    }
    auto state = read_report_state(cfg.state.dir);
    if (!state) log_warning("report: " + state.error().message + ", starting afresh, ignoring");
    ReportConfig rc = cfg.report;
    Pusher push = [cache, rc](const ReportPush &p) { return push_report_isolated(*cache, rc, p); };
    return std::make_unique<Reporter>(cfg, state ? std::move(*state) : ReportState{}, std::move(push), std::chrono::seconds(30));
}

Reporter::Reporter(const Config &cfg, ReportState state, Pusher push, std::chrono::milliseconds first_backoff)
    : cfg_(cfg), push_(std::move(push)), first_backoff_(first_backoff), state_(std::move(state)) {
    worker_ = std::thread([this] { run(); });
}

Reporter::~Reporter() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

Reporter::Key Reporter::key_of(const AgentStatus &s) {
    fleet::Standing st{s.rollout, s.rollout_commit, s.remote_head, s.attempted_commit, s.attempted_outcome, s.commit};
    auto m = fleet::mark_of(st);
    return Key{m ? m->commit : "", m ? m->report_state : "", s.wave, s.generation};
}

void Reporter::update(const AgentStatus &s) {
    {
        std::lock_guard lk(mu_);
        latest_ = s;
        state_.judged = add_judged(std::move(state_.judged), s); // here, so none is missed while pushes fail
    }
    cv_.notify_all();
}

void Reporter::finish() {
    std::unique_lock lk(mu_);
    if (!latest_ || (pushed_ && *pushed_ == key_of(*latest_) && !busy_)) return;
    force_ = true;
    cv_.notify_all();
    cv_.wait(lk, [&] { return !force_ || stop_; });
}

void Reporter::run() {
    std::unique_lock lk(mu_);
    while (!stop_) {
        auto now = clock::now();
        bool due = false;
        if (latest_) {
            bool changed = !pushed_ || !(*pushed_ == key_of(*latest_));
            due = force_ || (streak_ > 0 ? now >= retry_at_ : changed || now >= heartbeat_at_);
        }
        if (due) {
            AgentStatus s = *latest_;
            attempt(lk, s);
            force_ = false;
            cv_.notify_all();
            continue;
        }
        if (!latest_) cv_.wait(lk);
        else cv_.wait_until(lk, streak_ > 0 ? retry_at_ : heartbeat_at_);
    }
    force_ = false;
    cv_.notify_all();
}

void Reporter::attempt(std::unique_lock<std::mutex> &lk, const AgentStatus &s) {
    const std::int64_t now = std::time(nullptr);
    ReportPush p;
    auto report = build_report(cfg_.report, cfg_.state.dir, s, state_.judged, now);
    p.report_json = fleet::report_json(report);
    p.host = cfg_.report.host;
    p.wave = report.wave;
    fleet::Standing st{s.rollout, s.rollout_commit, s.remote_head, s.attempted_commit, s.attempted_outcome, s.commit};
    p.mark = fleet::mark_of(st);
    p.old_marker_ref = state_.marker_ref;
    p.time = now;
    Key key = key_of(s);

    busy_ = true;
    lk.unlock(); // the loop may hand over newer statuses meanwhile
    auto r = push_(p);
    lk.lock();
    busy_ = false;

    const auto t = clock::now();
    if (r) {
        if (streak_ > 0)
            log_info("report: push to " + cfg_.report.url + " works again (after " + std::to_string(streak_) + " failed attempt" + (streak_ == 1 ? "" : "s") + ")");
        else
            log_debug("report: pushed " + fleet::host_ref(p.host) + (p.mark ? " and " + *r : std::string{}));
        streak_ = 0;
        backoff_ = std::chrono::milliseconds(0);
        pushed_ = key;
        heartbeat_at_ = t + cfg_.report.heartbeat;
        state_.marker_ref = *r;
        state_.last_push = now;
    } else {
        backoff_ = std::min<std::chrono::milliseconds>(streak_ == 0 ? first_backoff_ : backoff_ * 2, cfg_.report.heartbeat);
        std::string why = r.error().message;
        if (why.find(cfg_.report.url) == std::string::npos) why = cfg_.report.url + ": " + why; // a killed child names no URL
        if (force_) // fjordd --once: this run ends here
            log_warning("report: " + why + "; the next run pushes the report again");
        else if (streak_ == 0)
            log_warning("report: " + why + "; the report is pushed again " + format_duration(backoff_) +
                        " later, backing off up to report.heartbeat (logged once until it works again)");
        ++streak_;
        ++state_.push_failures_total;
        retry_at_ = t + backoff_;
    }
    if (auto w = write_report_state(cfg_.state.dir, state_); !w) log_warning("report: " + w.error().message + ", ignoring");
    if (auto m = write_report_metrics(cfg_.metrics_textfile, state_.push_failures_total, state_.last_push); !m)
        log_warning("report: metrics: " + m.error().message + ", ignoring");
}

} // namespace fjord
