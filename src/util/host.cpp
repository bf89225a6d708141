#include "util/host.hpp"

#include "util/fs.hpp"
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <memory>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/utsname.h>

namespace fjord {

std::string host_name() {
    struct utsname u;
    if (::uname(&u) < 0) return "localhost";
    return u.nodename;
}

std::string machine_id() {
    auto r = read_file("/etc/machine-id", 4096);
    if (!r) return {};
    std::string s = *r;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

namespace {

bool container_interface(std::string_view name) {
    for (std::string_view p : container_interface_prefixes)
        if (name.substr(0, p.size()) == p) return true;
    return false;
}

/// /proc/net/if_inet6: "fd000000000000000000000000000002 04 40 00 82     eth0" (address, index,
/// prefix, scope, flags, name) -> flags by address and interface. getifaddrs does not show them.
std::map<std::pair<std::string, std::string>, unsigned> ipv6_flags_by_address() {
    std::map<std::pair<std::string, std::string>, unsigned> out;
    auto text = read_file("/proc/net/if_inet6", 1 << 20);
    if (!text) return out;
    std::istringstream in(*text);
    std::string hex, index, prefix, scope, flags, name;
    while (in >> hex >> index >> prefix >> scope >> flags >> name)
        out[{hex, name}] = static_cast<unsigned>(std::strtoul(flags.c_str(), nullptr, 16));
    return out;
}

} // namespace

HostAddresses filter_host_addresses(const std::vector<InterfaceAddress> &all) {
    std::vector<std::array<unsigned char, 16>> v4, v6;
    for (const auto &a : all) {
        if (a.loopback_interface || container_interface(a.interface)) continue;
        const unsigned char *b = a.addr.data();
        if (a.family == AF_INET) {
            if (b[0] == 127 || (b[0] == 169 && b[1] == 254) || b[0] >= 224 || (b[0] | b[1] | b[2] | b[3]) == 0) continue;
            v4.push_back(a.addr);
        } else if (a.family == AF_INET6) {
            in6_addr x{};
            std::memcpy(&x, b, 16);
            if (IN6_IS_ADDR_LOOPBACK(&x) || IN6_IS_ADDR_LINKLOCAL(&x) || IN6_IS_ADDR_MULTICAST(&x) || IN6_IS_ADDR_UNSPECIFIED(&x))
                continue;
            if (a.ipv6_flags & ipv6_unstable_flags) continue;
            v6.push_back(a.addr);
        }
    }
    auto texts = [](std::vector<std::array<unsigned char, 16>> &v, int family) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        std::vector<std::string> out;
        for (const auto &a : v) {
            char text[INET6_ADDRSTRLEN] = {};
            if (::inet_ntop(family, a.data(), text, sizeof text)) out.emplace_back(text);
        }
        return out;
    };
    return HostAddresses{texts(v4, AF_INET), texts(v6, AF_INET6)};
}

HostAddresses host_addresses() {
    std::vector<InterfaceAddress> all;
    struct ifaddrs *list = nullptr;
    if (::getifaddrs(&list) < 0) return {};
    std::unique_ptr<struct ifaddrs, void (*)(struct ifaddrs *)> owned(list, ::freeifaddrs);
    std::map<std::pair<std::string, std::string>, unsigned> flags;
    bool flags_read = false;
    for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_name) continue;
        InterfaceAddress a;
        a.interface = i->ifa_name;
        a.family = i->ifa_addr->sa_family;
        a.loopback_interface = (i->ifa_flags & IFF_LOOPBACK) != 0;
        if (a.family == AF_INET) {
            const auto *in = reinterpret_cast<const struct sockaddr_in *>(i->ifa_addr);
            std::memcpy(a.addr.data(), &in->sin_addr, 4);
        } else if (a.family == AF_INET6) {
            const auto *in = reinterpret_cast<const struct sockaddr_in6 *>(i->ifa_addr);
            std::memcpy(a.addr.data(), &in->sin6_addr, 16);
            if (!flags_read) flags = ipv6_flags_by_address(), flags_read = true;
            std::string hex;
            for (unsigned char c : a.addr) hex += {"0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
            if (auto it = flags.find({hex, a.interface}); it != flags.end()) a.ipv6_flags = it->second;
        } else {
            continue;
        }
        all.push_back(std::move(a));
    }
    return filter_host_addresses(all);
}

} // namespace fjord
