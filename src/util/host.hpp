#pragma once
#include "util/result.hpp"
#include <string>
#include <vector>

namespace fjord {

/// This host's name (uname nodename).
[[nodiscard]] std::string host_name();
/// /etc/machine-id, trimmed; empty when the file is missing.
[[nodiscard]] std::string machine_id();

/// The global addresses of this host's interfaces (getifaddrs), in the kernel's order without
/// repeats: loopback (127.0.0.0/8, ::1) and link-local (169.254.0.0/16, fe80::/10) are left out.
struct HostAddresses {
    std::vector<std::string> ipv4, ipv6;
};
[[nodiscard]] HostAddresses host_addresses();

} // namespace fjord
