#include "daemon/metrics.hpp"
#include "daemon/progress.hpp"
#include "control/status.hpp"
#include "support/temp_dir.hpp"
#include "util/fs.hpp"

#include <cstdlib>

#include <doctest/doctest.h>

using namespace fjord;

namespace {
bool has_line(const std::string &text, const std::string &line) { return ("\n" + text).find("\n" + line + "\n") != std::string::npos; }
} // namespace

TEST_CASE("metrics: counters, gauges, every poll error reason, prerequisites, escaped labels") {
    AgentStatus s;
    s.generation = 5;
    s.commit = "abc";
    s.changes_total = 12;
    s.rollbacks_total = 1;
    s.drift_corrections_total = 2;
    s.apply_seconds = 1.5;
    s.suspended = "pinned to generation 4";
    s.last_result = "failed";
    count_poll_error(s, Errc::network);
    count_poll_error(s, Errc::io);
    count_poll_error(s, Errc::auth);
    std::vector<prereq::CheckResult> pr(2);
    pr[0].check = "disk";
    pr[0].subject = "v\"da";
    pr[0].status = prereq::CheckStatus::fail;
    pr[1].check = "steal";
    pr[1].status = prereq::CheckStatus::warn;
    auto m = render_metrics(s, pr);
    CHECK(has_line(m, "fjord_generation 5"));
    CHECK(has_line(m, "# TYPE fjord_changes_applied_total counter"));
    CHECK(has_line(m, "fjord_changes_applied_total 12"));
    CHECK(has_line(m, "fjord_rollbacks_total 1"));
    CHECK(has_line(m, "fjord_drift_corrections_total 2"));
    CHECK(has_line(m, "fjord_apply_duration_seconds 1.5"));
    CHECK(has_line(m, "fjord_suspended 1"));
    CHECK(has_line(m, "fjord_poll_errors_total{reason=\"network\"} 2"));
    CHECK(has_line(m, "fjord_poll_errors_total{reason=\"auth\"} 1"));
    CHECK(has_line(m, "fjord_poll_errors_total{reason=\"other\"} 0"));
    CHECK(has_line(m, "fjord_last_sync_result{result=\"failed\"} 1"));
    CHECK(has_line(m, "fjord_prerequisite_status{check=\"disk\",subject=\"v\\\"da\"} 2"));
    CHECK(has_line(m, "fjord_prerequisite_status{check=\"steal\",subject=\"\"} 1"));
    CHECK(m.find("fjord_info{version=\"") != std::string::npos);
    CHECK(m.find(",commit=\"abc\"} 1\n") != std::string::npos);
    // No prerequisite results: no empty family.
    CHECK(render_metrics(s, {}).find("fjord_prerequisite_status") == std::string::npos);
}

TEST_CASE("history: the change summary counts added, changed and removed files and units") {
    Generation prev;
    prev.files.insert_or_assign("/etc/a", {});
    prev.files.insert_or_assign("/etc/b", {});
    Plan p;
    p.actions = {{ActionKind::write, "/etc/a"}, {ActionKind::write, "/etc/new"}, {ActionKind::write, "/etc/new2", true},
                 {ActionKind::remove, "/etc/b"}, {ActionKind::mkdir, "/etc/d"}, {ActionKind::restore, "/etc/c"}};
    CHECK(change_summary(p, prev, 1) == "+2 ~1 -2, 1 unit");
    CHECK(change_summary(Plan{}, prev, 0) == "+0 ~0 -0, 0 units");
}

TEST_CASE("progress: checks report N/M passing as each first passes") {
    struct Flaky final : Probe {
        int runs = 0, pass_from;
        explicit Flaky(int p) : pass_from(p) {}
        std::string target() const override { return "t"; }
        ProbeResult run(std::chrono::milliseconds) override { return {++runs >= pass_from, ""}; }
    };
    std::vector<Check> checks(2);
    checks[0].probe = std::make_unique<Flaky>(1);
    checks[1].probe = std::make_unique<Flaky>(3);
    std::vector<std::string> seen;
    count_passing_checks(checks, [&](std::size_t n, std::size_t total) { seen.push_back(std::to_string(n) + "/" + std::to_string(total)); });
    for (int i = 0; i < 4; ++i)
        for (auto &c : checks) (void)c.probe->run(std::chrono::milliseconds(1));
    CHECK(seen == std::vector<std::string>{"1/2", "2/2"});
}

TEST_CASE("progress: \"marked good\" counts health checks only when the manifest defines some") {
    auto named = [](std::vector<std::string> names) {
        std::vector<Check> c(names.size());
        for (std::size_t i = 0; i < names.size(); ++i) c[i].name = names[i];
        return c;
    };
    CHECK(checks_passed({}, 0) == "no health check defined");
    CHECK(checks_passed(named({"source"}), 0) == "no health check defined; 1 built-in check passed: source");
    CHECK(checks_passed(named({"nginx.service", "source"}), 0) == "no health check defined; 2 built-in checks passed: nginx.service, source");
    CHECK(checks_passed(named({"web"}), 1) == "1 health check passed");
    CHECK(checks_passed(named({"web", "db", "source"}), 2) == "3 health checks passed");
}

TEST_CASE("metrics and status: image automation's counters and lines") {
    AgentStatus s;
    s.image_updates_total = 3;
    s.registry_errors_total = 7;
    s.last_image_update = "web: 1.2.1 -> 1.2.2 (glob:1.2.*): failed, rolled back to generation 4; tag 1.2.2 marked bad";
    s.registry_error = "container web: registry 127.0.0.1:5000, image demo/bb: list tags: unreachable";
    s.last_registry_check = 1700000000;
    auto m = render_metrics(s, {});
    CHECK(has_line(m, "# TYPE fjord_image_updates_total counter"));
    CHECK(has_line(m, "fjord_image_updates_total 3"));
    CHECK(has_line(m, "fjord_registry_errors_total 7"));

    // status.json keeps them across restarts of fjordd.
    test::TempDir tmp;
    const std::string &dir = tmp.path;
    REQUIRE(write_file_atomic(dir + "/status.json", status_to_json(s), 0600));
    auto back = read_status(dir);
    REQUIRE(back);
    CHECK(back->image_updates_total == 3);
    CHECK(back->registry_errors_total == 7);
    CHECK(back->last_image_update == s.last_image_update);
    CHECK(back->registry_error == s.registry_error);
    CHECK(back->last_registry_check == 1700000000);
}
