#include "prereq/parse.hpp"

#include <doctest/doctest.h>

using namespace fjord;
using namespace fjord::prereq;

TEST_CASE("scheduler lines: the bracketed one is active") {
    auto s = parse_scheduler("none [mq-deadline] kyber bfq\n");
    CHECK(s.active == "mq-deadline");
    CHECK(s.offered == std::vector<std::string>{"none", "mq-deadline", "kyber", "bfq"});
    CHECK(parse_scheduler("[none] mq-deadline\n").active == "none");
    CHECK(parse_scheduler("mq-deadline kyber [bfq] none").active == "bfq");
    // A queue without a choice (bio-based devices) prints one bare name.
    CHECK(parse_scheduler("none\n").active == "none");
    CHECK(parse_scheduler("none mq-deadline\n").active.empty());
    CHECK(parse_scheduler("").active.empty());
    CHECK(parse_scheduler("").offered.empty());
}

TEST_CASE("/proc/stat: the aggregate cpu line, and steal over a window") {
    const char *a = "cpu  297262 0 65044 246700 8507 0 2084 71 0 0\ncpu0 143945 0 27692 136076 1506 0 98 30 0 0\nintr 1 2\n";
    auto t = parse_cpu_times(a);
    REQUIRE(t);
    CHECK(t->fields == 10);
    CHECK(t->t[0] == 297262);
    CHECK(t->t[7] == 71);

    // 1000 ticks pass, 50 of them stolen: 5%. guest (field 9) is inside user and not added again.
    CpuTimes before = *t, after = *t;
    after.t[0] += 600;
    after.t[3] += 350;
    after.t[7] += 50;
    after.t[8] += 400;
    auto p = steal_percent(before, after);
    REQUIRE(p);
    CHECK(*p == doctest::Approx(5.0));

    SUBCASE("no time passed") { CHECK_FALSE(steal_percent(before, before)); }
    SUBCASE("counters went backwards") {
        after.t[3] = before.t[3] - 1;
        auto r = steal_percent(before, after);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("backwards") != std::string::npos);
    }
    SUBCASE("a kernel without the steal field") {
        auto old = parse_cpu_times("cpu 1 2 3 4 5 6 7\n");
        REQUIRE(old);
        CHECK(old->fields == 7);
        CHECK_FALSE(steal_percent(*old, *old));
    }
    CHECK_FALSE(parse_cpu_times("cpu0 1 2 3 4\n"));
    CHECK_FALSE(parse_cpu_times("cpu 1 x 3 4 5\n"));
    CHECK_FALSE(parse_cpu_times("cpu 1 2\n"));
}

TEST_CASE("meminfo: MemAvailable and MemTotal in bytes") {
    auto m = parse_meminfo("MemTotal:       24683656 kB\nMemFree:         1000 kB\nMemAvailable:   24227968 kB\n");
    REQUIRE(m);
    CHECK(m->total == 24683656ull * 1024);
    CHECK(m->available == 24227968ull * 1024);
    CHECK_FALSE(parse_meminfo("MemTotal: 100 kB\nMemFree: 5 kB\n"));
}

TEST_CASE("mountinfo: fields, optional fields and escapes") {
    const char *text =
        "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
        "28 27 0:25 / /mnt/with\\040space ro,nosuid master:3 propagate_from:2 - tmpfs my\\134tmp ro,size=4k\n"
        "40 27 0:40 / /var/lib/containers/x rw - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n"
        "garbage line\n"
        "41 27 nope / /x rw - ext4 /dev/x rw\n";
    auto m = parse_mountinfo(text);
    REQUIRE(m.size() == 3);
    CHECK(m[0].major == 254);
    CHECK(m[0].minor == 0);
    CHECK(m[0].mount_point == "/");
    CHECK(m[0].fs_type == "ext4");
    CHECK(m[0].source == "/dev/vda");
    CHECK(m[1].mount_point == "/mnt/with space");
    CHECK(m[1].source == "my\\tmp");
    CHECK(m[1].fs_type == "tmpfs");
    CHECK(mount_option(m[2].super_options, "upperdir") == "/u");
    CHECK(mount_option(m[2].super_options, "lowerdir") == "/l1:/l2");
    CHECK(mount_option(m[2].super_options, "dir").empty());
    CHECK(mount_option("rw", "upperdir").empty());
}

TEST_CASE("percentile: nearest rank") {
    std::vector<std::int64_t> v;
    for (int i = 1; i <= 100; ++i) v.push_back(i);
    CHECK(percentile(v, 50) == 50);
    CHECK(percentile(v, 99) == 99);
    CHECK(percentile(v, 100) == 100);
    CHECK(percentile({7}, 99) == 7);
    CHECK(percentile({}, 99) == 0);
    std::vector<std::int64_t> ten{1, 2, 3, 4, 5, 6, 7, 8, 9, 1000};
    CHECK(percentile(ten, 99) == 1000); // with 10 samples the p99 is the worst one
    CHECK(percentile(ten, 50) == 5);
}
