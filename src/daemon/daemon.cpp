#include "daemon/daemon.hpp"

#include "config/own_paths.hpp"
#include "control/control.hpp"
#include "daemon/log.hpp"
#include "daemon/engine.hpp"
#include "daemon/reporter.hpp"
#include "daemon/watchdog.hpp"
#include "prereq/monitor.hpp"
#include "sandbox/landlock.hpp"
#include "util/host.hpp"
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <malloc.h>
#include <ctime>
#include <random>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

namespace fjord {
namespace {

using sd_event_ptr = std::unique_ptr<sd_event, decltype(&sd_event_unref)>;

} // namespace

/// A boolean field of a control request; anything but true is false (never an exception).
bool flag(const nlohmann::json &req, const char *key);

namespace {

/// The reporter of [report] (nullptr without it), its key made first; a problem is logged and
/// leaves the host without reports, never without applies.
std::unique_ptr<Reporter> start_reporter(const Config &cfg) {
    if (cfg.report.url.empty()) return nullptr;
    if (auto made = ensure_report_key(cfg.report); !made) log_warning(made.error().message + ", ignoring");
    else if (!made->empty()) log_info("report: " + *made);
    auto r = Reporter::start(cfg);
    if (!r) {
        log_error(r.error().message + "; no reports are pushed until it is fixed (systemctl reload fjord)");
        return nullptr;
    }
    return std::move(*r);
}

HostFacts facts() { return {host_name(), machine_id()}; }

std::uint64_t usec(Duration d) { return static_cast<std::uint64_t>(d.count()) * 1000; }

// Each change of a host check is logged once; a fail is an error only where it blocks applying.
bool log_prereq_changes(prereq::Monitor &m) {
    auto changes = m.take_changes();
    for (const auto &c : changes) {
        LogLevel level = c.status == prereq::CheckStatus::pass                                       ? LogLevel::info
                         : c.status == prereq::CheckStatus::fail && m.mode() == PrereqMode::block ? LogLevel::error
                                                                                                   : LogLevel::warning;
        log_msg(level, nullptr, c.message, {{"FJORD_CHECK", c.label}});
    }
    return !changes.empty();
}

class Daemon {
  public:
    Daemon(DaemonOptions opts, Config cfg, std::unique_ptr<Engine> rec, std::unique_ptr<Reporter> reporter)
        : opts_(std::move(opts)), rec_(std::move(rec)), reporter_(std::move(reporter)), prereq_(cfg), rng_(std::random_device{}()) {
        rec_->set_apply_gate([this] { return prereq_.gate(); });
        rec_->defer_time_saves(); // an idle poll writes no status.json; run() writes it at the end
    }

    int run() {
        sd_event *raw = nullptr;
        if (sd_event_new(&raw) < 0) {
            log_error("sd_event_new failed");
            return 1;
        }
        event_.reset(raw);
        sigset_t mask;
        sigemptyset(&mask);
        for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
        sigprocmask(SIG_BLOCK, &mask, nullptr);
        sd_event_add_signal(event_.get(), nullptr, SIGTERM, on_exit_signal, this);
        sd_event_add_signal(event_.get(), nullptr, SIGINT, on_exit_signal, this);
        sd_event_add_signal(event_.get(), nullptr, SIGHUP, on_hup, this);
        sd_event_set_watchdog(event_.get(), true);

        auto sock = control_listen(control_socket_path(rec_->config()));
        if (!sock) {
            log_error("control socket: " + sock.error().message);
            return 1;
        }
        listen_fd_ = std::move(*sock);
        rec_->on_progress = [this](const std::string &line) {
            sd_notify(0, ("STATUS=" + line).c_str());
            if (progress_fd_ >= 0) control_progress(progress_fd_, line); // fjordctl sync at a terminal
        };
        sd_event_add_io(event_.get(), nullptr, listen_fd_.get(), EPOLLIN, on_control, this);

        std::uint64_t now = 0;
        sd_event_now(event_.get(), CLOCK_MONOTONIC, &now);
        sd_event_add_time(event_.get(), &poll_timer_, CLOCK_MONOTONIC, now, 1000, on_poll_timer, this);
        sd_event_add_time(event_.get(), &drift_timer_, CLOCK_MONOTONIC,
                          now + usec(rec_->config().apply.drift_interval), 1'000'000, on_drift_timer, this);
        sd_event_add_time(event_.get(), &prereq_timer_, CLOCK_MONOTONIC, now, 1000, on_prereq_timer, this);
        sd_event_add_time(event_.get(), &registry_timer_, CLOCK_MONOTONIC, now + registry_delay(), 1000, on_registry_timer, this);
        sd_event_add_time(event_.get(), &probe_timer_, CLOCK_MONOTONIC, now, 1000, on_probe_timer, this);
        if (prereq_.mode() == PrereqMode::block) {
            sd_event_source_set_enabled(poll_timer_, SD_EVENT_OFF); // prereq_round_done() starts it
            log_info("prerequisites.mode = block: the first sync waits for the first round of host checks");
        }
        sd_notify(0, "READY=1\nSTATUS=started");
        log_info("started; following " + describe_source());
        int r = sd_event_loop(event_.get());
        sd_notify(0, "STOPPING=1");
        rec_->flush_status(); // the last poll's times, for fjordctl status while fjordd is stopped
        ::unlink(control_socket_path(rec_->config()).c_str());
        log_info("stopped");
        return r < 0 ? 1 : 0;
    }

  private:
    std::string describe_source() const {
        const auto &s = rec_->config().source;
        if (s.url.empty()) return "nothing (source.url is not set)";
        return s.url + " " + (s.tag.empty() ? "branch " + s.branch : "tags " + s.tag) + ", path " + s.path;
    }

    // The one line `systemctl status fjord` shows: idle, suspended, refusing or failing.
    void notify_status() {
        const auto &st = rec_->status();
        if (reporter_) reporter_->update(st); // pushed by its own thread: never waited for here
        std::string at = "generation " + std::to_string(st.generation) + (st.commit.empty() ? "" : " at " + st.commit.substr(0, 7));
        std::int64_t wait = st.next_poll - std::time(nullptr);
        std::string text;
        if (st.last_result == "not-configured") text = "inactive: source.url is not set in " + rec_->config().file;
        else if (!st.suspended.empty()) text = "suspended: " + at + "; " + st.suspended;
        else if (!st.rollout.empty()) text = st.rollout_reason + " (" + at + ")";
        else if (st.last_result == "refused") text = "refusing: " + st.last_error;
        else if (st.last_result == "failed") text = "failed: " + st.last_error + " (" + at + ")";
        else text = "idle: " + at + (wait > 0 ? ", next poll in " + std::to_string(wait) + "s" : "");
        sd_notify(0, ("STATUS=" + text).c_str());
    }

    SyncResult do_sync(const SyncOptions &o) {
        SyncOptions so = o;
        so.dry_run = so.dry_run || opts_.dry_run;
        auto r = rec_->sync(so); // the engine's recorder logs the outcome (once, when it repeats)
        if (r.state == SyncState::dry_run && !r.plan.empty()) log_msg(LogLevel::info, nullptr, "plan:\n" + r.plan);
        notify_status();
        return r;
    }

    void schedule_poll() {
        auto interval = usec(rec_->config().source.poll_interval);
        // Up to a tenth of the interval at random, so a fleet does not poll in lockstep.
        std::uniform_int_distribution<std::uint64_t> jitter(0, interval / 10);
        std::uint64_t now = 0;
        sd_event_now(event_.get(), CLOCK_MONOTONIC, &now);
        std::uint64_t delay = interval + jitter(rng_);
        sd_event_source_set_time(poll_timer_, now + delay);
        sd_event_source_set_enabled(poll_timer_, SD_EVENT_ONESHOT);
        rec_->set_next_poll(std::time(nullptr) + static_cast<std::int64_t>(delay / 1'000'000));
    }

    static int on_poll_timer(sd_event_source *, std::uint64_t, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        auto busy = d->watchdog_.busy();
        d->do_sync({});
        d->schedule_poll();
        d->notify_status();
        d->rec_->release_memory(); // idle until the next timer: hold nothing a reconcile loaded
        return 0;
    }

    // podman.registry_poll_interval plus up to a tenth of it at random, as polls are jittered.
    std::uint64_t registry_delay() {
        auto interval = usec(rec_->config().podman.registry_poll_interval);
        std::uniform_int_distribution<std::uint64_t> jitter(0, interval / 10);
        return interval + jitter(rng_);
    }

    static int on_registry_timer(sd_event_source *s, std::uint64_t, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        auto busy = d->watchdog_.busy();
        (void)d->rec_->check_images(d->opts_.dry_run); // logs what it found and did
        d->notify_status();
        d->rec_->release_memory();
        d->rearm(s, d->registry_delay());
        return 0;
    }

    static int on_drift_timer(sd_event_source *s, std::uint64_t, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        auto busy = d->watchdog_.busy();
        auto r = d->rec_->drift_pass();
        if (!r) log_error("drift pass: " + r.error().message);
        d->rec_->release_memory();
        std::uint64_t now = 0;
        sd_event_now(d->event_.get(), CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s, now + usec(d->rec_->config().apply.drift_interval));
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
    }

    void rearm(sd_event_source *s, std::uint64_t delay) {
        std::uint64_t now = 0;
        sd_event_now(event_.get(), CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s, now + delay);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
    }

    // After each round of host checks: log what changed, save it for fjordctl status, and with
    // mode = block start the first sync, or sync at once when a failing check passes again.
    void prereq_round_done() {
        if (prereq_.mode() == PrereqMode::off) return; // prereq.json keeps the last results, dated
        log_prereq_changes(prereq_);
        if (auto s = prereq_.save(); !s) log_warning("prerequisites: " + s.error().message + ", ignoring");
        bool was_open = prereq_open_;
        prereq_open_ = prereq_.complete() && prereq_.gate().empty();
        if (prereq_.mode() != PrereqMode::block || !prereq_.complete()) return;
        if (!prereq_first_done_ || (prereq_open_ && !was_open)) rearm(poll_timer_, 0);
        prereq_first_done_ = true;
    }

    // Cheap checks in two steps: the instant ones and a /proc/stat sample, then, steal_window
    // later, the second sample; so the loop never sleeps through the window.
    static int on_prereq_timer(sd_event_source *s, std::uint64_t, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        const auto &pc = d->rec_->config().prerequisites;
        std::uint64_t next = usec(pc.check_interval);
        if (d->prereq_.mode() != PrereqMode::off) {
            if (!d->round_open_) {
                d->prereq_.begin_round();
                next = usec(pc.steal_window);
            } else {
                d->prereq_.end_round();
                d->prereq_round_done();
                next -= std::min(next, usec(pc.steal_window));
            }
            d->round_open_ = !d->round_open_;
        }
        d->rearm(s, next);
        return 0;
    }

    // The fdatasync probe runs on a worker thread: on a slow disk it takes minutes, and the
    // loop must go on answering fjordctl and the watchdog meanwhile.
    static int on_probe_timer(sd_event_source *s, std::uint64_t, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        auto interval = usec(d->rec_->config().prerequisites.probe_interval);
        if (d->prereq_.mode() == PrereqMode::off || d->prereq_.probe_running()) {
            d->rearm(s, interval);
            return 0;
        }
        auto fd = d->prereq_.start_probe();
        if (!fd) {
            log_warning("prerequisites: " + fd.error().message + ", ignoring");
            d->rearm(s, interval);
            return 0;
        }
        sd_event_add_io(d->event_.get(), &d->probe_io_, *fd, EPOLLIN, on_probe_done, d);
        return 0; // re-armed when the probe is done
    }

    static int on_probe_done(sd_event_source *s, int, std::uint32_t, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        sd_event_source_disable_unref(s); // before finish_probe() closes the fd
        d->probe_io_ = nullptr;
        bool current = d->prereq_.finish_probe();
        d->prereq_round_done();
        d->rearm(d->probe_timer_, current ? usec(d->rec_->config().prerequisites.probe_interval) : 0);
        return 0;
    }

    static int on_exit_signal(sd_event_source *, const struct signalfd_siginfo *si, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        log_info(std::string("received ") + (si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
        sd_event_exit(d->event_.get(), 0);
        return 0;
    }

    static int on_hup(sd_event_source *, const struct signalfd_siginfo *, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        sd_notify(0, "RELOADING=1");
        Diagnostics problems;
        auto cfg = load_config(d->opts_.config_file, facts(), &problems);
        const SourceConfig old_source = d->rec_->config().source;
        const Duration old_registry_interval = d->rec_->config().podman.registry_poll_interval;
        const ReportConfig old_report = d->rec_->config().report;
        if (!cfg) {
            // Every problem, so one reload names every typo; the last line says what was kept.
            auto errors = problems.errors();
            for (std::size_t i = 0; i + 1 < errors.size(); ++i) log_error("reload: " + errors[i].message);
            log_error("reload: " + (errors.empty() ? cfg.error().message : errors.back().message) +
                      "; keeping the running configuration");
        } else if (auto s = d->rec_->reconfigure(*cfg); !s) {
            log_error("reload: " + s.error().message + "; keeping the running configuration");
        } else {
            log_init(cfg->log_level);
            log_info("configuration reloaded from " + d->opts_.config_file);
            // A new remote (or a first one) is polled now, not at the next timer.
            const auto &src = cfg->source;
            if (src.url != old_source.url || src.branch != old_source.branch || src.tag != old_source.tag ||
                src.path != old_source.path)
                d->rearm(d->poll_timer_, 0);
            if (cfg->podman.registry_poll_interval != old_registry_interval) d->rearm(d->registry_timer_, d->registry_delay());
            if (cfg->report != old_report) { // waits for a push in flight, at most report.timeout
                d->reporter_.reset();
                d->reporter_ = start_reporter(*cfg);
            }
            // Checks turned on, or other paths to judge: measure now rather than in an hour.
            if (d->prereq_.reconfigure(*cfg)) {
                if (!d->round_open_) d->rearm(d->prereq_timer_, 0);
                if (!d->prereq_.probe_running()) d->rearm(d->probe_timer_, 0);
            }
            d->prereq_round_done(); // new thresholds judge the same measurements
        }
        sd_notify(0, "READY=1");
        d->notify_status();
        return 0;
    }

    static int on_control(sd_event_source *, int fd, std::uint32_t, void *ud) {
        auto *d = static_cast<Daemon *>(ud);
        unique_fd conn(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) return 0;
        auto req = control_read(conn.get());
        if (!req) {
            control_reply(conn.get(), {{"ok", false}, {"message", req.error().message}});
            return 0;
        }
        d->progress_fd_ = flag(*req, "progress") ? conn.get() : -1;
        auto busy = d->watchdog_.busy(); // a sync or rollback asked for by fjordctl
        auto reply = d->handle(*req);
        d->progress_fd_ = -1;
        control_reply(conn.get(), reply);
        d->rec_->release_memory();
        return 0;
    }

    nlohmann::json handle(const nlohmann::json &req) {
        // The socket is root's only, but a malformed request is still an answer, never a throw.
        const std::string cmd = req.is_object() && req.contains("cmd") && req["cmd"].is_string() ? req["cmd"].get<std::string>() : "";
        auto sync_reply = [](const SyncResult &r, bool ok) {
            nlohmann::json j{{"ok", ok},          {"state", sync_state_name(r.state)}, {"message", r.message},
                             {"commit", r.commit}, {"generation", r.generation},       {"plan", r.plan}};
            // A preview: the changes with content, and why an apply would refuse them.
            if (r.state == SyncState::dry_run) {
                j["diff"] = r.diff;
                j["refused"] = r.refusal;
            }
            return j;
        };
        if (cmd == "status") {
            auto j = nlohmann::json::parse(status_to_json(rec_->status()));
            j["ok"] = true;
            j["running"] = true;
            return j;
        }
        if (cmd == "sync" || cmd == "diff") {
            SyncOptions o;
            o.dry_run = cmd == "diff" || flag(req, "dry_run");
            o.accept_rewrite = flag(req, "accept_rewrite");
            o.retry = flag(req, "retry");
            o.manual = true;
            o.skip_waves = flag(req, "skip_waves");
            if (auto it = req.find("allow_deletions"); it != req.end() && it->is_number_unsigned())
                o.allow_deletions = static_cast<std::uint32_t>(std::min<std::uint64_t>(it->get<std::uint64_t>(), UINT32_MAX));
            if (!o.dry_run) {
                auto drift = rec_->drift_pass();
                if (!drift) log_error("drift pass: " + drift.error().message);
            }
            auto r = do_sync(o);
            bool ok = r.state == SyncState::applied || r.state == SyncState::up_to_date || r.state == SyncState::waiting ||
                      (r.state == SyncState::dry_run && r.refusal.empty());
            return sync_reply(r, ok);
        }
        if (cmd == "rollback") {
            std::uint64_t gen = 0;
            if (auto it = req.find("generation"); it != req.end()) {
                if (!it->is_number_unsigned()) return {{"ok", false}, {"message", "rollback: generation must be a number"}};
                gen = it->get<std::uint64_t>();
            }
            auto r = rec_->rollback(gen);
            notify_status();
            return sync_reply(r, r.state == SyncState::applied);
        }
        if (cmd == "repair") {
            bool yes = flag(req, "yes");
            std::string out = rec_->repair(yes);
            notify_status();
            while (!out.empty() && out.back() == '\n') out.pop_back();
            return {{"ok", rec_->problem().empty()}, {"message", out}};
        }
        if (cmd == "suspend" || cmd == "resume") {
            auto s = cmd == "suspend" ? rec_->suspend() : rec_->resume();
            notify_status();
            if (!s) return {{"ok", false}, {"message", s.error().message}};
            return {{"ok", true}, {"message", cmd == "suspend" ? "suspended: polling goes on, nothing is applied" : "resumed"}};
        }
        return {{"ok", false}, {"message", "unknown command " + cmd}};
    }

    DaemonOptions opts_;
    std::unique_ptr<Engine> rec_;
    std::unique_ptr<Reporter> reporter_; ///< [report]; nullptr without one
    /// Feeds WatchdogSec= while one callback runs a long step (daemon/watchdog.hpp).
    WatchdogFeeder watchdog_{WatchdogFeeder::from_environment()};
    prereq::Monitor prereq_; ///< made after rec_, which holds the state lock
    sd_event_ptr event_{nullptr, sd_event_unref};
    sd_event_source *poll_timer_ = nullptr;
    sd_event_source *drift_timer_ = nullptr;
    sd_event_source *registry_timer_ = nullptr;
    sd_event_source *prereq_timer_ = nullptr, *probe_timer_ = nullptr, *probe_io_ = nullptr;
    bool round_open_ = false;        ///< between begin_round() and end_round()
    bool prereq_open_ = false;       ///< the apply gate was open after the last round
    bool prereq_first_done_ = false; ///< mode = block: the first complete round started syncing
    unique_fd listen_fd_;
    int progress_fd_ = -1; ///< the connection that asked for progress lines, while its request runs
    std::mt19937_64 rng_;
};

} // namespace

bool flag(const nlohmann::json &req, const char *key) {
    auto it = req.find(key);
    return it != req.end() && it->is_boolean() && it->get<bool>();
}

std::string daemon_usage() {
    return "usage: fjordd [--config FILE] [--once] [--dry-run] [--recover] [--rollback [GEN]]\n"
           "  --config FILE  agent configuration (default /etc/fjord/fjord.toml)\n"
           "  --once         one full reconcile (drift pass, poll, apply, registry check\n"
           "                 and image updates), then exit:\n"
           "                 0 when the host ends on the newest good state, 1 otherwise\n"
           "  --dry-run      show what would change, with content; change nothing\n"
           "                 (3: the commit's changes are shown, and an apply would refuse it)\n"
           "  --recover      roll back an interrupted transaction, then exit\n"
           "  --rollback [GEN]\n"
           "                 back to generation GEN (none or 0: the previous good one),\n"
           "                 then pinned, as fjordctl rollback; print the result and exit:\n"
           "                 0 when it was applied, 1 otherwise\n"
           "  --version      print the version\n";
}

int run_daemon(const DaemonOptions &opts) {
    Diagnostics problems;
    auto cfg = load_config(opts.config_file, facts(), &problems);
    if (!cfg) {
        // As a command's usage error (exit 2), before the log is set up: "fjordd: FILE:LINE:COL: ...",
        // a line for every problem in the file.
        for (const auto &e : problems.empty() ? std::vector<Error>{cfg.error()} : problems.errors())
            std::fprintf(stderr, "fjordd: %s\n", e.message.c_str());
        return 2;
    }
    log_init(cfg->log_level);
    // libgit2's ssh transport fails without HOME (it looks for ~/.ssh), and a system service
    // or `env -i` has none: fjord's own state folder stands in, never root's dotfiles.
    if (!std::getenv("HOME")) ::setenv("HOME", cfg->state.dir.c_str(), 1);

    // SIGTERM during a transaction must not abandon it: signals wait until it is done.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, nullptr);

    auto rec = Engine::open(*cfg);
    if (!rec) {
        log_error(rec.error().message);
        return rec.error().code == Errc::invalid && !opts.rollback ? 2 : 1;
    }
    if (opts.rollback) {
        // fjordctl rollback while no fjordd runs: the control socket's rollback, under the same
        // state lock; fjordctl shows what is printed here.
        SyncResult r = (*rec)->rollback(*opts.rollback);
        std::printf("%s\n", r.message.c_str());
        return r.state == SyncState::applied ? 0 : 1;
    }
    if (opts.recover_only) {
        if (std::string why = (*rec)->problem(); !why.empty()) {
            log_error(why);
            return 1;
        }
        return 0;
    }
    // The fetch children confine their writes with Landlock where the kernel has it; without
    // it they go on under seccomp alone, said once here (the sandbox layer does not log).
    if (landlock_abi() < 1)
        log_warning("Landlock is not available in this kernel (not built or not in the active LSM list): "
                    "the fetch child's file writes are limited by seccomp only, not to the Git cache");
    if (opts.once) {
        Engine &r = **rec;
        // Host checks before anything else; with mode = block a failing one refuses the sync.
        prereq::Monitor pm(*cfg);
        if (pm.mode() != PrereqMode::off) {
            bool measured = pm.run_once(pm.mode() == PrereqMode::block && !opts.dry_run);
            if (log_prereq_changes(pm) || measured)
                if (auto s = pm.save(); !s) log_warning("prerequisites: " + s.error().message + ", ignoring");
            r.set_apply_gate([&pm] { return pm.gate(); });
        }
        bool drift_ran = true;
        if (!opts.dry_run) {
            auto drift = r.drift_pass();
            if (!drift) log_error("drift pass: " + drift.error().message);
            drift_ran = drift.has_value();
        }
        SyncOptions so;
        so.dry_run = opts.dry_run;
        auto res = r.sync(so);
        // Drift left in place (reported, or beyond reach) means the host is not on its good
        // state; drift the pass could not correct and the apply wrote again is gone.
        bool drift_ok = opts.dry_run || (drift_ran && r.status().drifted == 0);
        // A commit a wave gate holds back (waiting) leaves the host on its good generation where
        // its rollout policy wants it: success. A halted commit is a refusal: 1.
        bool ok = drift_ok && (res.state == SyncState::applied || res.state == SyncState::up_to_date ||
                               res.state == SyncState::dry_run || res.state == SyncState::waiting);
        if (res.state == SyncState::up_to_date) log_info(res.message); // the recorder logs it at debug level
        // The preview (the changes with content) is the output of a dry run; a commit an apply
        // would refuse is shown all the same, then why, and exits 3.
        if (opts.dry_run) std::fputs(res.diff.empty() ? res.plan.c_str() : res.diff.c_str(), stdout);
        if (opts.dry_run && !res.refusal.empty()) {
            std::printf("would be refused: %s\n", res.refusal.c_str());
            return 3;
        }
        // Then the registries: newer tags of containers with an update policy, each deployed
        // and checked. A registry not answering leaves the host's state unknown: exit 1.
        ImageRound images = r.check_images(opts.dry_run);
        ok = ok && images.failed == 0 && images.errors == 0;
        // The report last, one attempt at most report.timeout long: a status repository that is
        // down is logged and changes neither what was applied nor the exit status.
        if (!opts.dry_run)
            if (auto reporter = start_reporter(*cfg)) {
                reporter->update(r.status());
                reporter->finish();
            }
        return ok ? 0 : 1;
    }
    Daemon d(opts, *cfg, std::move(*rec), start_reporter(*cfg));
    return d.run();
}

} // namespace fjord
