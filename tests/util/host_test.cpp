// The host-address filter: what host.ipv4 / host.ipv6 hold must not change by itself.
#include "util/host.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <sys/socket.h>

using namespace fjord;

namespace {

InterfaceAddress addr(const std::string &ifname, const std::string &text, unsigned flags = 0, bool loopback = false) {
    InterfaceAddress a;
    a.interface = ifname;
    a.family = text.find(':') == std::string::npos ? AF_INET : AF_INET6;
    REQUIRE(::inet_pton(a.family, text.c_str(), a.addr.data()) == 1);
    a.ipv6_flags = flags;
    a.loopback_interface = loopback;
    return a;
}

} // namespace

TEST_CASE("host addresses: sorted, without repeats, whatever the kernel's order") {
    auto one = filter_host_addresses({addr("eth1", "192.0.2.10"), addr("eth0", "10.0.0.5"), addr("eth0", "192.0.2.9"),
                                      addr("eth2", "10.0.0.5"), addr("eth0", "2001:db8::10"), addr("eth0", "2001:db8::9")});
    CHECK(one.ipv4 == std::vector<std::string>{"10.0.0.5", "192.0.2.9", "192.0.2.10"});
    CHECK(one.ipv6 == std::vector<std::string>{"2001:db8::9", "2001:db8::10"});
    auto other = filter_host_addresses({addr("eth0", "2001:db8::9"), addr("eth0", "192.0.2.9"), addr("eth0", "2001:db8::10"),
                                        addr("eth2", "10.0.0.5"), addr("eth1", "192.0.2.10")});
    CHECK(other.ipv4 == one.ipv4);
    CHECK(other.ipv6 == one.ipv6);
}

TEST_CASE("host addresses: container bridges and veth ends are not the host's") {
    auto h = filter_host_addresses({addr("eth0", "192.0.2.2"), addr("cni-podman0", "10.88.0.1"), addr("podman0", "10.88.0.1"),
                                    addr("docker0", "172.17.0.1"), addr("br-3f2a1b", "172.18.0.1"), addr("veth1a2b", "10.88.0.7"),
                                    addr("virbr0", "192.168.122.1"), addr("podman1", "fd00:88::1"), addr("eth0", "fd00::2"),
                                    addr("bridge0", "192.0.2.3"), addr("vethernet", "192.0.2.4")});
    CHECK(h.ipv4 == std::vector<std::string>{"192.0.2.2", "192.0.2.3"});
    CHECK(h.ipv6 == std::vector<std::string>{"fd00::2"});
}

TEST_CASE("host addresses: unstable IPv6 addresses, loopback, link-local and multicast are left out") {
    auto h = filter_host_addresses({addr("eth0", "2001:db8::1", 0x80 /*permanent*/), addr("eth0", "2001:db8::2", 0x01 /*temporary*/),
                                    addr("eth0", "2001:db8::3", 0x20 /*deprecated*/), addr("eth0", "2001:db8::4", 0x40 /*tentative*/),
                                    addr("eth0", "2001:db8::5", 0x08 /*dadfailed*/), addr("eth0", "2001:db8::6", 0x04 /*optimistic*/),
                                    addr("lo", "127.0.0.1", 0, true), addr("lo", "::1", 0x80, true), addr("eth0", "127.0.0.2"),
                                    addr("eth0", "169.254.1.1"), addr("eth0", "fe80::1"), addr("eth0", "ff02::1"),
                                    addr("eth0", "224.0.0.1"), addr("eth0", "0.0.0.0"), addr("eth0", "::")});
    CHECK(h.ipv4.empty());
    CHECK(h.ipv6 == std::vector<std::string>{"2001:db8::1", "2001:db8::6"});
}

TEST_CASE("host addresses: this host's, filtered the same way") {
    auto h = host_addresses();
    for (const auto &a : h.ipv4) CHECK(a.rfind("10.88.", 0) != 0); // cni-podman0 here has 10.88.0.1
    auto again = host_addresses();
    CHECK(again.ipv4 == h.ipv4);
    CHECK(again.ipv6 == h.ipv6);
}
