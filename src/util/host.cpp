#include "util/host.hpp"

#include "util/fs.hpp"
#include <algorithm>
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

HostAddresses host_addresses() {
    HostAddresses out;
    struct ifaddrs *list = nullptr;
    if (::getifaddrs(&list) < 0) return out;
    std::unique_ptr<struct ifaddrs, void (*)(struct ifaddrs *)> owned(list, ::freeifaddrs);
    auto add = [](std::vector<std::string> &v, std::string s) {
        if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
    };
    for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK)) continue;
        char text[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto *a = reinterpret_cast<const struct sockaddr_in *>(i->ifa_addr);
            std::uint32_t ip = ntohl(a->sin_addr.s_addr);
            if ((ip >> 24) == 127 || (ip >> 16) == 0xa9fe) continue;
            if (::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text)) add(out.ipv4, text);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto *a = reinterpret_cast<const struct sockaddr_in6 *>(i->ifa_addr);
            if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) || IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) ||
                IN6_IS_ADDR_MULTICAST(&a->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
                continue;
            if (::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text)) add(out.ipv6, text);
        }
    }
    return out;
}

} // namespace fjord
