#include "util/host.hpp"

#include "util/fs.hpp"
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

} // namespace fjord
