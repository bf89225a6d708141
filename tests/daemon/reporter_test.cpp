// The reporter's thread with a scripted push: the sync loop never waits on a push, a failing
// push is retried with doubling backoff and logged once per streak, heartbeats, and the old
// marker handed to the next push.
#include "daemon/log.hpp"
#include "daemon/reporter.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace fjord;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

const std::string C1(40, 'a'), C2(40, 'b');

Config config(const std::string &state, Duration heartbeat) {
    Config c;
    c.state.dir = state;
    c.metrics_textfile = "";
    c.report.url = "git://127.0.0.1:1/status.git";
    c.report.host = "web1";
    c.report.heartbeat = heartbeat;
    return c;
}

AgentStatus status(const std::string &commit, std::uint64_t gen, const std::string &wave = "") {
    AgentStatus s;
    s.commit = commit;
    s.generation = gen;
    s.attempted_commit = commit;
    s.attempted_outcome = "applied";
    s.wave = wave;
    return s;
}

/// A scripted push: answers from `fail_first` failures, then successes; records each call.
struct Script {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<ReportPush> calls;
    std::vector<clk::time_point> at;
    int fail_first = 0;
    std::string error = "push to git://127.0.0.1:1/status.git: Connection refused";
    bool hold = false; ///< the push blocks until released
    bool inside = false;

    Reporter::Pusher pusher() {
        return [this](const ReportPush &p) -> Result<std::string> {
            std::unique_lock lk(mu);
            calls.push_back(p);
            at.push_back(clk::now());
            inside = true;
            cv.notify_all();
            cv.wait(lk, [&] { return !hold; });
            inside = false;
            if (fail_first > 0) {
                --fail_first;
                // A new text each time, so the log's own repeat limiter cannot hide a line.
                return fail(Errc::network, error + " #" + std::to_string(calls.size()));
            }
            return p.mark ? fleet::marker_ref(p.wave, p.host) : std::string{};
        };
    }
    bool wait_calls(std::size_t n, std::chrono::milliseconds max = 5s) {
        std::unique_lock lk(mu);
        return cv.wait_for(lk, max, [&] { return calls.size() >= n; });
    }
};

/// stderr into a file while it lives, so the log's lines can be counted.
struct StderrCapture {
    test::TempDir dir;
    int saved = ::dup(2);
    std::string path = dir.path + "/stderr";
    StderrCapture() {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ::dup2(fd, 2);
        ::close(fd);
        log_init(LogLevel::info);
    }
    ~StderrCapture() {
        ::dup2(saved, 2);
        ::close(saved);
    }
    std::string text() const {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
};

std::size_t count(const std::string &text, const std::string &what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

} // namespace

TEST_CASE("update never waits for a push in flight") {
    test::TempDir t;
    Script s;
    s.hold = true;
    Reporter r(config(t.path, 1h), {}, s.pusher(), 20ms);
    r.update(status(C1, 1));
    {
        std::unique_lock lk(s.mu);
        REQUIRE(s.cv.wait_for(lk, 5s, [&] { return s.inside; }));
    }
    auto before = clk::now();
    r.update(status(C2, 2)); // the push above hangs (a silent status repository)
    CHECK(clk::now() - before < 100ms);
    {
        std::lock_guard lk(s.mu);
        s.hold = false;
    }
    s.cv.notify_all();
    REQUIRE(s.wait_calls(2));
    std::lock_guard lk(s.mu);
    CHECK(s.calls[1].mark->commit == C2); // the newest status, pushed next
}

TEST_CASE("a failing push is retried with doubling backoff up to the heartbeat, logged once per streak") {
    test::TempDir t;
    StderrCapture err;
    Script s;
    s.fail_first = 4;
    {
        // Backoff 50 ms doubling, cut to the 150 ms heartbeat: 50, 100, 150, 150 (uncut: 200, 400).
        // The upper bound leaves 250 ms for a loaded machine's scheduling.
        Reporter r(config(t.path, 150ms), {}, s.pusher(), 50ms);
        r.update(status(C1, 1));
        REQUIRE(s.wait_calls(5));
        std::lock_guard lk(s.mu);
        auto gap = [&](int i) { return std::chrono::duration_cast<std::chrono::milliseconds>(s.at[i + 1] - s.at[i]); };
        CHECK(gap(0) >= 50ms);
        CHECK(gap(1) >= 100ms);
        CHECK(gap(2) >= 150ms); // 200 ms, cut to the heartbeat
        CHECK(gap(3) >= 150ms);
        CHECK(gap(3) < 400ms); // 400 ms uncut
        CHECK(s.calls[4].mark->commit == C1);
    }
    std::string log = err.text();
    CHECK(count(log, "report: push to git://127.0.0.1:1/status.git: Connection refused #1; the report is pushed again ") == 1);
    CHECK(count(log, "warning report:") == 1);
    CHECK(count(log, "report: push to git://127.0.0.1:1/status.git works again (after 4 failed attempts)") == 1);
    auto st = read_report_state(t.path);
    REQUIRE(st);
    CHECK(st->push_failures_total == 4);
    CHECK(st->last_push > 0);
    CHECK(st->marker_ref == "refs/fjord/waves/all/web1");
    REQUIRE(st->judged.size() == 1);
    CHECK(st->judged[0].outcome == "good");
}

TEST_CASE("an unchanged status is pushed again at each heartbeat only; a wave change names the old marker") {
    test::TempDir t;
    Script s;
    Reporter r(config(t.path, 400ms), {}, s.pusher(), 20ms);
    r.update(status(C1, 1));
    REQUIRE(s.wait_calls(1));
    for (int i = 0; i < 5; ++i) r.update(status(C1, 1)); // nothing new: no push
    std::this_thread::sleep_for(60ms);
    {
        std::lock_guard lk(s.mu);
        CHECK(s.calls.size() == 1);
    }
    REQUIRE(s.wait_calls(2, 3s)); // the heartbeat
    r.update(status(C1, 1, "late"));
    REQUIRE(s.wait_calls(3));
    std::lock_guard lk(s.mu);
    CHECK(s.calls[2].wave == "late");
    CHECK(s.calls[2].old_marker_ref == "refs/fjord/waves/all/web1");
    CHECK(fleet::push_refspecs(s.calls[2].host, s.calls[2].wave, true, s.calls[2].old_marker_ref).back() ==
          ":refs/fjord/waves/all/web1");
}
