#include "prereq/monitor.hpp"
#include "support.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

using namespace fjord;
using namespace fjord::prereq;
using fjord::test::fake_cpu;
using fjord::test::FakeSys;
using fjord::test::TempDir;

namespace {

// A config judging only a temp folder, whose device a fake sysfs describes, on a fake CPU (a
// KVM guest unless a test says otherwise): the machine running the test decides neither.
struct Fixture {
    TempDir t;
    FakeSys sys;
    Config cfg;
    std::filesystem::path disk;
    Cpuid cpu = fake_cpu({"KVMKVMKVM"});
    bool ok = false;

    explicit Fixture(PrereqMode mode) {
        cfg.apply.root = t.path + "/root";
        cfg.state.dir = t.path + "/state";
        std::filesystem::create_directories(cfg.state.dir);
        cfg.prerequisites.mode = mode;
        cfg.prerequisites.steal_window = Duration(100);
        cfg.prerequisites.probe_size = 46'000;
        // This shared host's steal and disk speed are not under test here: only the fake disk decides.
        cfg.prerequisites.max_steal = 100;
        cfg.prerequisites.max_fdatasync_p99 = Duration(60'000);
        struct stat st;
        if (::stat(t.path.c_str(), &st) < 0 || major(st.st_dev) == 0) return;
        disk = sys.device("devices/virtual/block/loop6", std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)),
                          "none mq-deadline [bfq]", "0");
        ok = true;
    }
    HostRoots roots() const { return {sys.root.string(), "/proc", cpu}; }
    void scheduler(const std::string &line) { fjord::test::write(disk / "queue/scheduler", line + "\n"); }
};

} // namespace

TEST_CASE("monitor: block mode refuses until checked, names the failing check, opens when it passes") {
    Fixture f(PrereqMode::block);
    if (!f.ok) {
        MESSAGE("temp dir on an anonymous device: nothing for the fake tree to describe; skipped");
        return;
    }
    Monitor m(f.cfg, f.roots());
    CHECK(m.gate().find("not checked yet") != std::string::npos);

    CHECK(m.run_once(true)); // steal and probe measured: nothing fresh was saved
    CHECK(m.complete());
    CHECK(m.gate() == "prerequisites: disk /dev/loop6: scheduler bfq not in [none mq-deadline]; refusing to apply "
                      "(prerequisites.mode = block)");
    auto changes = m.take_changes();
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].status == CheckStatus::fail);
    CHECK(changes[0].label == "disk /dev/loop6");
    CHECK(changes[0].message.find("60-fjord-scheduler.rules") != std::string::npos);
    CHECK(m.take_changes().empty()); // reported once
    REQUIRE(m.save());

    // A later process (another --once) sees the saved report and the fresh slow results.
    f.scheduler("none [mq-deadline] bfq");
    Monitor later(f.cfg, f.roots());
    CHECK_FALSE(later.run_once(true)); // fresh steal and probe were reused
    CHECK(later.gate().empty());
    auto back = later.take_changes();
    REQUIRE(back.size() == 1);
    CHECK(back[0].status == CheckStatus::pass);
    CHECK(back[0].message.find("passes again") != std::string::npos);
    bool has_probe = false;
    for (const auto &r : later.results()) has_probe = has_probe || r.check == "fdatasync";
    CHECK(has_probe);

    // warn mode never closes the gate.
    f.scheduler("none mq-deadline [bfq]");
    Config warn = f.cfg;
    warn.prerequisites.mode = PrereqMode::warn;
    Monitor w(warn, f.roots());
    w.run_once(false);
    CHECK(w.gate().empty());
}

TEST_CASE("monitor: the virtualization check judges the CPU it is given") {
    Fixture f(PrereqMode::block);
    if (!f.ok) {
        MESSAGE("temp dir on an anonymous device; skipped");
        return;
    }
    f.scheduler("none [mq-deadline]");
    f.cpu = fake_cpu({"TCGTCGTCGTCG"});
    Monitor tcg(f.cfg, f.roots());
    tcg.run_once(false);
    CHECK(tcg.gate() == "prerequisites: virtualization: QEMU/TCG emulates every instruction in software; refusing to apply "
                        "(prerequisites.mode = block)");
    f.cpu = fake_cpu({"bhyve bhyve "}); // not KVM: a warn, which never closes the gate
    Monitor bhyve(f.cfg, f.roots());
    bhyve.run_once(false);
    CHECK(bhyve.gate().empty());
    bool warned = false;
    for (const auto &r : bhyve.results()) warned = warned || (r.check == "virtualization" && r.status == CheckStatus::warn);
    CHECK(warned);
}

TEST_CASE("monitor: the daemon's rounds and the probe on its worker thread") {
    Fixture f(PrereqMode::block);
    if (!f.ok) {
        MESSAGE("temp dir on an anonymous device; skipped");
        return;
    }
    f.scheduler("none [mq-deadline]");
    Monitor m(f.cfg, f.roots());
    m.begin_round();
    m.end_round();
    CHECK_FALSE(m.complete()); // no probe yet
    CHECK(m.gate().find("not checked yet") != std::string::npos);
    auto fd = m.start_probe();
    REQUIRE(fd);
    CHECK(m.probe_running());
    CHECK_FALSE(m.start_probe()); // one at a time
    pollfd p{*fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 60'000) == 1);
    CHECK(m.finish_probe());
    CHECK_FALSE(m.probe_running());
    CHECK(m.complete());
    CHECK(m.gate().empty());
    bool probed = false;
    for (const auto &r : m.results())
        if (r.check == "fdatasync") probed = r.data["writes"] == 20;
    CHECK(probed);

    // Other paths to judge: the old results say nothing about them.
    Config more = f.cfg;
    more.prerequisites.paths = {f.t.path};
    CHECK(m.reconfigure(more));
    CHECK_FALSE(m.complete());
    Config off = more;
    off.prerequisites.mode = PrereqMode::off;
    CHECK_FALSE(m.reconfigure(off));
    CHECK(m.gate().empty());
    CHECK(m.reconfigure(more)); // turned on again: measure now

    // Paths changed while a probe ran: its results are for the old ones and are dropped.
    auto fd2 = m.start_probe();
    REQUIRE(fd2);
    CHECK(m.reconfigure(f.cfg));
    pollfd p2{*fd2, POLLIN, 0};
    REQUIRE(::poll(&p2, 1, 60'000) == 1);
    CHECK_FALSE(m.finish_probe());
    CHECK_FALSE(m.complete());
}

TEST_CASE("monitor: a running probe is cancelled when the monitor goes") {
    Fixture f(PrereqMode::warn);
    f.cfg.prerequisites.probe_size = 64ull << 20; // long enough to still run at destruction
    auto m = std::make_unique<Monitor>(f.cfg);
    REQUIRE(m->start_probe());
    m.reset(); // must return promptly, and leave no probe file behind
    std::size_t n = 0;
    for ([[maybe_unused]] const auto &e : std::filesystem::directory_iterator(f.cfg.state.dir)) ++n;
    CHECK(n == 0);
}
