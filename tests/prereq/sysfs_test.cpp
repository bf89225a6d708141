#include "prereq/sysfs.hpp"
#include "support.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

using namespace fjord;
using namespace fjord::prereq;
using fjord::test::FakeSys;

namespace {

const char *vda_path = "devices/pci0000:00/0000:00:02.0/virtio1/block/vda";
const char *nvme_path = "devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1";
const char *sda_path = "devices/pci0000:00/0000:00:05.0/virtio2/host0/target0:0:0/0:0:0:0/block/sda";
const char *sdb_path = "devices/pci0000:00/0000:00:1f.2/ata1/host1/target1:0:0/1:0:0:0/block/sdb";

std::vector<std::string> names(const std::vector<DiskFacts> &d) {
    std::vector<std::string> out;
    for (const auto &x : d) out.push_back(x.name);
    return out;
}

} // namespace

TEST_CASE("transport from the name and the device path") {
    CHECK(transport_of("vda", std::string("/") + vda_path) == "virtio");
    CHECK(transport_of("nvme0n1", std::string("/") + nvme_path) == "nvme");
    CHECK(transport_of("sda", std::string("/") + sda_path) == "scsi"); // virtio-scsi is SCSI
    CHECK(transport_of("sdb", std::string("/") + sdb_path) == "scsi");
    CHECK(transport_of("xvda", "/devices/vbd-51712/block/xvda") == "xen");
    CHECK(transport_of("mmcblk0", "/devices/platform/mmc/mmc0:0001/block/mmcblk0") == "mmc");
    CHECK(transport_of("loop3", "/devices/virtual/block/loop3") == "loop");
    CHECK(transport_of("zram0", "/devices/virtual/block/zram0") == "other");
}

TEST_CASE("sysfs: whole disks through partitions, device-mapper and md") {
    FakeSys s;
    auto vda = s.device(vda_path, "254:0", "none [mq-deadline] kyber bfq", "1");
    auto vda1 = s.partition(vda, "vda1", "254:1");
    auto vda2 = s.partition(vda, "vda2", "254:2");
    auto nvme = s.device(nvme_path, "259:0", "[none] mq-deadline", "0");
    auto sda = s.device(sda_path, "8:0", "mq-deadline [bfq]", "1");
    auto sda1 = s.partition(sda, "sda1", "8:1");
    auto sdb = s.device(sdb_path, "8:16", "[mq-deadline] none", "1");
    auto sdb1 = s.partition(sdb, "sdb1", "8:17");
    // LVM: dm-0 spans vda2 and the whole nvme disk.
    auto dm0 = s.device("devices/virtual/block/dm-0", "253:0", "none");
    s.slave(dm0, vda2);
    s.slave(dm0, nvme);
    // RAID1: md0 over sda1 and sdb1; dm-1 (LUKS) on top of md0.
    auto md0 = s.device("devices/virtual/block/md0", "9:0", "none");
    s.slave(md0, sda1);
    s.slave(md0, sdb1);
    auto dm1 = s.device("devices/virtual/block/dm-1", "253:1", "none");
    s.slave(dm1, md0);

    std::vector<std::string> via;
    SUBCASE("a whole disk is itself") {
        auto d = whole_disks(s.root.string(), 254, 0, via);
        REQUIRE(d);
        REQUIRE(d->size() == 1);
        CHECK((*d)[0].name == "vda");
        CHECK((*d)[0].transport == "virtio");
        CHECK((*d)[0].rotational);
        CHECK((*d)[0].scheduler == "mq-deadline");
        CHECK((*d)[0].schedulers.size() == 4);
        CHECK((*d)[0].error.empty());
        CHECK(via.empty());
    }
    SUBCASE("a partition is its parent disk") {
        auto d = whole_disks(s.root.string(), 254, 1, via);
        REQUIRE(d);
        CHECK(names(*d) == std::vector<std::string>{"vda"});
        (void)vda1;
    }
    SUBCASE("device-mapper over a partition and a disk") {
        auto d = whole_disks(s.root.string(), 253, 0, via);
        REQUIRE(d);
        CHECK(names(*d) == std::vector<std::string>{"nvme0n1", "vda"});
        CHECK((*d)[0].transport == "nvme");
        CHECK_FALSE((*d)[0].rotational);
        CHECK(via == std::vector<std::string>{"dm-0"});
    }
    SUBCASE("dm over md over partitions") {
        auto d = whole_disks(s.root.string(), 253, 1, via);
        REQUIRE(d);
        CHECK(names(*d) == std::vector<std::string>{"sda", "sdb"});
        CHECK((*d)[0].scheduler == "bfq");
        CHECK((*d)[0].transport == "scsi");
        CHECK(via == std::vector<std::string>{"dm-1", "md0"});
    }
    SUBCASE("a device the tree does not know") {
        auto d = whole_disks(s.root.string(), 8, 99, via);
        REQUIRE_FALSE(d);
        CHECK(d.error().message.find("8:99") != std::string::npos);
    }
    SUBCASE("a loop in the slaves is refused, not followed forever") {
        auto dm2 = s.device("devices/virtual/block/dm-2", "253:2", "none");
        auto dm3 = s.device("devices/virtual/block/dm-3", "253:3", "none");
        s.slave(dm2, dm3);
        s.slave(dm3, dm2);
        auto d = whole_disks(s.root.string(), 253, 2, via);
        REQUIRE_FALSE(d);
        CHECK(d.error().message.find("deeper") != std::string::npos);
    }
    SUBCASE("an unreadable queue is reported on the disk, not a failure of the walk") {
        std::filesystem::remove(sdb / "queue/scheduler");
        auto d = whole_disks(s.root.string(), 8, 17, via);
        REQUIRE(d);
        CHECK((*d)[0].scheduler.empty());
        CHECK((*d)[0].error.find("scheduler") != std::string::npos);
    }
    SUBCASE("no sysfs at all") {
        auto d = whole_disks(s.root.string() + "/nope", 254, 0, via);
        REQUIRE_FALSE(d);
    }
}

TEST_CASE("filesystems: grouped by filesystem, with what maps to no disk said so") {
    fjord::test::TempDir t;
    std::filesystem::create_directories(t.path + "/a");
    std::vector<JudgedPath> paths{{"/x", t.path}, {"/y", t.path + "/a"}, {"/missing", t.path + "/nope"}, {"/shm", "/dev/shm"}};
    auto fs = filesystems_of(paths);
    REQUIRE(fs.size() == 3);
    CHECK(fs[0].paths == std::vector<std::string>{"/x", "/y"}); // same filesystem, one entry
    CHECK(fs[1].missing);
    CHECK(fs[1].error.find("No such file") != std::string::npos);
    // /dev/shm is a tmpfs: no block device, said so.
    CHECK(fs[2].no_block_device);
    CHECK(fs[2].error.find("tmpfs") != std::string::npos);
    CHECK(fs[2].disks.empty());
}

TEST_CASE("filesystems: the real disk under a real path, through real /sys") {
    // Whatever this host's disk is, the walk must end at a whole disk with a readable queue, or
    // say why not: never an empty answer.
    fjord::test::TempDir t;
    auto fs = filesystems_of({{"/tmp-test", t.path}});
    REQUIRE(fs.size() == 1);
    if (fs[0].disks.empty()) {
        CHECK_FALSE(fs[0].error.empty());
        MESSAGE("no disk under " << t.path << ": " << fs[0].error);
        return;
    }
    const auto &d = fs[0].disks[0];
    CHECK_FALSE(d.name.empty());
    CHECK(std::filesystem::exists("/sys/block/" + d.name));
    CHECK_FALSE(d.scheduler.empty());
    CHECK(d.error.empty());
    MESSAGE(t.path << " is on " << d.name << " (" << d.transport << ", " << d.scheduler << ")");
}

TEST_CASE("filesystems: a fake sysfs decides what the real st_dev maps to") {
    // The path is real (its st_dev comes from the kernel); the tree says what that device is.
    fjord::test::TempDir t;
    struct stat st;
    REQUIRE(::stat(t.path.c_str(), &st) == 0);
    if (major(st.st_dev) == 0) {
        MESSAGE("temp dir on an anonymous device; skipped");
        return;
    }
    FakeSys s;
    std::string mm = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    s.device("devices/virtual/block/loop7", mm, "none mq-deadline [bfq]", "1");
    HostRoots roots{s.root.string(), "/proc"};
    auto fs = filesystems_of({{"/judged", t.path}}, roots);
    REQUIRE(fs.size() == 1);
    REQUIRE(fs[0].disks.size() == 1);
    CHECK(fs[0].disks[0].name == "loop7");
    CHECK(fs[0].disks[0].scheduler == "bfq");
    CHECK(fs[0].disks[0].rotational);
    CHECK(fs[0].device == mm);
}
