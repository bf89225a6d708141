#include "prereq/fsync_probe.hpp"
#include "prereq/prereq.hpp"
#include "prereq/report.hpp"
#include "support.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <sys/stat.h>

using namespace fjord;
using namespace fjord::prereq;
using fjord::test::TempDir;

namespace {

std::size_t entries(const std::string &dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto &e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

} // namespace

TEST_CASE("fdatasync probe: etcd's writes, timed, and nothing left behind") {
    TempDir t;
    // /tmp may be a tmpfs elsewhere; the probe works on either, only the numbers differ.
    auto f = probe_fdatasync(t.path, 230'000);
    REQUIRE_MESSAGE(f.error.empty(), f.error);
    CHECK(f.writes == 100);
    CHECK(f.bytes == 100 * probe_block);
    CHECK(f.p50_ns > 0);
    CHECK(f.p50_ns <= f.p99_ns);
    CHECK(f.p99_ns <= f.max_ns);
    CHECK(f.seconds > 0);
    CHECK_FALSE(f.stopped_early);
    CHECK(entries(t.path) == 0);
}

TEST_CASE("fdatasync probe: refusals are reasons, not crashes") {
    TempDir t;
    auto missing = probe_fdatasync(t.path + "/nope", 4096);
    CHECK(missing.error.find("No such file") != std::string::npos);
    // More than the disk holds: refused before a byte is written.
    auto huge = probe_fdatasync(t.path, 1ull << 60);
    CHECK(huge.error.find("not probed") != std::string::npos);
    CHECK(entries(t.path) == 0);
    // A cancelled probe stops at once and still leaves nothing.
    std::atomic<bool> cancel{true};
    auto c = probe_fdatasync(t.path, 1u << 20, &cancel);
    CHECK(c.error == "probe cancelled");
    CHECK(entries(t.path) == 0);
    // The time limit ends a probe early, with the numbers of what ran.
    auto limited = probe_fdatasync(t.path, 1u << 20, nullptr, std::chrono::seconds(0));
    CHECK(limited.stopped_early);
    CHECK(entries(t.path) == 0);
}

TEST_CASE("probe targets: one per filesystem, state dir first, missing paths reported") {
    TempDir t;
    std::filesystem::create_directories(t.path + "/state");
    std::filesystem::create_directories(t.path + "/data");
    Config cfg;
    cfg.apply.root = t.path + "/root"; // not there yet: judged at its nearest existing folder
    cfg.state.dir = t.path + "/state";
    cfg.prerequisites.paths = {t.path + "/data", t.path + "/gone", "/dev/shm"};
    Prereq p(cfg);
    auto targets = p.probe_targets();
    REQUIRE(targets.size() == 3);
    CHECK(targets[0].dir == t.path + "/state");
    CHECK(targets[0].paths == std::vector<std::string>{t.path + "/state", t.path + "/data"});
    CHECK(targets[1].error.find("No such file") != std::string::npos);
    CHECK(targets[2].dir == "/dev/shm");
    CHECK(nearest_existing(t.path + "/root/a/b") == t.path);
    CHECK(nearest_existing("/") == "/");

    cfg.prerequisites.probe_size = 23'000;
    cfg.prerequisites.paths = {t.path + "/gone"};
    p.reconfigure(cfg);
    p.measure_fsync();
    auto r = p.results();
    REQUIRE(r.size() == 2);
    CHECK(r[0].check == "fdatasync");
    CHECK(r[0].data["writes"] == 10);
    CHECK(r[1].status == CheckStatus::warn);
    CHECK(r[1].subject == t.path + "/gone");
}

TEST_CASE("the instant checks on this host, and steal over a short window") {
    TempDir t;
    Config cfg;
    cfg.apply.root = t.path;
    cfg.state.dir = t.path + "/state";
    cfg.prerequisites.steal_window = Duration(200);
    Prereq p(cfg);
    p.run_instant();
    p.measure_steal();
    const auto &m = p.measurements();
    REQUIRE(m.virt);
    REQUIRE(m.memory);
    CHECK(m.memory->error.empty());
    CHECK(m.memory->available > 0);
    REQUIRE(m.space);
    CHECK(m.space->dir == cfg.state.dir);
    CHECK(m.space->error.empty());
    REQUIRE(m.steal);
    CHECK(m.steal->error.empty());
    CHECK(m.steal->window_ms >= 200);
    CHECK(m.steal->percent >= 0);
    CHECK(m.steal->percent <= 100);
    auto r = p.results();
    CHECK(r.front().check == "virtualization");
    CHECK(r.back().check == "disk_space");
}

TEST_CASE("prereq.json: written and read back; a broken one is refused") {
    TempDir t;
    Saved s;
    s.checked_at = 1700000000;
    s.mode = "block";
    CheckResult r;
    r.check = "disk";
    r.subject = "/dev/vda";
    r.status = CheckStatus::fail;
    r.problem = "scheduler bfq not in [none mq-deadline]";
    r.data = {{"device", "vda"}};
    s.results = {r};
    s.steal = StealFacts{1.5, 5000, "", 1700000000};
    FsyncFacts f;
    f.dir = "/var/lib/fjord";
    f.p99_ns = 1234567;
    f.writes = 10;
    f.at = 1700000000;
    s.fsync = {f};
    REQUIRE(write_saved(t.path, s));
    auto back = read_saved(t.path);
    REQUIRE(back);
    CHECK(back->mode == "block");
    REQUIRE(back->results.size() == 1);
    CHECK(back->results[0].status == CheckStatus::fail);
    CHECK(back->results[0].label() == "disk /dev/vda");
    CHECK(back->results[0].data["device"] == "vda");
    REQUIRE(back->steal);
    CHECK(back->steal->percent == doctest::Approx(1.5));
    REQUIRE(back->fsync.size() == 1);
    CHECK(back->fsync[0].p99_ns == 1234567);

    TempDir none;
    CHECK(read_saved(none.path).error().code == Errc::not_found);
    fjord::test::write(none.path + "/prereq.json", "{\"version\": 1, \"results\": [{\"check\": 5}]}");
    CHECK(read_saved(none.path).error().code == Errc::invalid);
    fjord::test::write(none.path + "/prereq.json", "not json");
    CHECK(read_saved(none.path).error().code == Errc::invalid);
}
