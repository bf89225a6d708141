#include "control/control.hpp"

#include "util/fs.hpp"
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace fjord {
namespace {

Result<sockaddr_un> address(const std::string &path) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) return fail(Errc::invalid, path + ": socket path too long");
    std::copy(path.begin(), path.end(), sa.sun_path);
    return sa;
}

// Reads up to a newline, within a deadline and `max` bytes; what follows the line stays in `buf`.
Result<std::string> read_line(int fd, int timeout_ms, std::string &buf, std::size_t max) {
    char chunk[4096];
    while (buf.find('\n') == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail(Errc::io, "control socket: no answer in time");
        ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail_errno("control socket");
        if (got == 0) break;
        buf.append(chunk, static_cast<std::size_t>(got));
        if (buf.size() > max) return fail(Errc::invalid, "control socket: message too long");
    }
    auto nl = buf.find('\n');
    std::string line = buf.substr(0, nl);
    buf.erase(0, nl == std::string::npos ? buf.size() : nl + 1);
    return line;
}

void write_all(int fd, const std::string &s) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

} // namespace

Result<unique_fd> control_listen(const std::string &path) {
    auto sa = address(path);
    if (!sa) return fail(std::move(sa.error()));
    FJORD_TRY(mkdir_p(dirname_of(path), 0755));
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return fail_errno("socket");
    ::unlink(path.c_str());
    // The socket is born 0600, root only: bind gives it 0777 less the umask (0077 made it 0700).
    mode_t old = ::umask(0177);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr *>(&*sa), sizeof *sa);
    ::umask(old);
    if (rc < 0) return fail_errno("bind " + path);
    if (::listen(fd.get(), 16) < 0) return fail_errno("listen " + path);
    return fd;
}

Result<nlohmann::json> control_read(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return fail_errno("SO_PEERCRED");
    if (cred.uid != 0 && cred.uid != ::geteuid())
        return fail(Errc::refused, "control socket: uid " + std::to_string(cred.uid) + " is not allowed");
    std::string buf;
    auto line = read_line(fd, 5000, buf, 1u << 20); // a request: 1 MiB is plenty
    if (!line) return fail(std::move(line.error()));
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("cmd") || !j["cmd"].is_string())
        return fail(Errc::invalid, "control socket: malformed request");
    return j;
}

void control_reply(int fd, const nlohmann::json &reply) { write_all(fd, reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"); }

void control_progress(int fd, const std::string &line) {
    write_all(fd, nlohmann::json{{"progress", line}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

Result<nlohmann::json> control_call(const std::string &path, const nlohmann::json &req, int timeout_ms,
                                    const std::function<void(const std::string &)> &on_progress) {
    auto sa = address(path);
    if (!sa) return fail(std::move(sa.error()));
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&*sa), sizeof *sa) < 0) {
        if (errno == ENOENT || errno == ECONNREFUSED) return fail(Errc::not_found, "fjordd is not running (no " + path + ")");
        // fjordd may well be running: the socket (or its folder) is not for this user.
        if (errno == EACCES || errno == EPERM)
            return fail(Errc::refused, "permission denied: the control socket " + path + " is root-only (run as root)");
        return fail_errno("connect " + path);
    }
    write_all(fd.get(), req.dump() + "\n");
    std::string buf;
    for (;;) {
        // A reply may carry a preview (apply/preview.hpp: at most 1 MiB of diff, which JSON may
        // escape to a few times that) and a plan of a line a path.
        auto line = read_line(fd.get(), timeout_ms, buf, 32u << 20);
        if (!line) return fail(std::move(line.error()));
        auto j = nlohmann::json::parse(*line, nullptr, false);
        if (j.is_discarded()) return fail(Errc::invalid, "fjordd sent a malformed reply");
        // Progress lines come only when asked for, before the one reply.
        if (j.is_object() && j.size() == 1 && j.contains("progress") && j["progress"].is_string()) {
            if (on_progress) on_progress(j["progress"].get<std::string>());
            continue;
        }
        return j;
    }
}

} // namespace fjord
