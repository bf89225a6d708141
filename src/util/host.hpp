#pragma once
#include "util/result.hpp"
#include <array>
#include <string>
#include <vector>

namespace fjord {

/// This host's name (uname nodename).
[[nodiscard]] std::string host_name();
/// /etc/machine-id, trimmed; empty when the file is missing.
[[nodiscard]] std::string machine_id();

/// The host's own global addresses, sorted (numerically) without repeats. Left out, because
/// they come and go by themselves and would re-render templates using host.ipv4/host.ipv6:
/// loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, fe80::/10), multicast; addresses
/// of container-runtime bridges and veth ends (interface names in container_interface_prefixes:
/// the podman bridge fjord's own first container brings, docker0, libvirt's); IPv6 addresses
/// that are temporary (privacy), deprecated, tentative or failed duplicate detection.
struct HostAddresses {
    std::vector<std::string> ipv4, ipv6;
};
[[nodiscard]] HostAddresses host_addresses();

/// Interface names whose addresses are not the host's own (see HostAddresses).
inline constexpr const char *container_interface_prefixes[] = {"cni-podman", "podman", "docker", "br-", "veth", "virbr"};

/// IPv6 address flags (IFA_F_*, as /proc/net/if_inet6 shows them) that leave an address out.
inline constexpr unsigned ipv6_unstable_flags = 0x01 /*temporary*/ | 0x08 /*dadfailed*/ | 0x20 /*deprecated*/ | 0x40 /*tentative*/;

/// One address of one interface, as the kernel lists it.
struct InterfaceAddress {
    std::string interface;
    int family = 0;                     ///< AF_INET or AF_INET6
    std::array<unsigned char, 16> addr{}; ///< network order; IPv4 in the first 4 bytes
    bool loopback_interface = false;    ///< IFF_LOOPBACK
    unsigned ipv6_flags = 0;            ///< IFA_F_* (low 8 bits)
};

/// The pure part of host_addresses(): filters, sorts and deduplicates `all`.
[[nodiscard]] HostAddresses filter_host_addresses(const std::vector<InterfaceAddress> &all);

} // namespace fjord
