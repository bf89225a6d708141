#include "fleet/ls_refs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <csignal>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace fjord::fleet {
namespace {

using Clock = std::chrono::steady_clock;

bool has_control(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

/// Printable and bounded, for a server's words in an error.
std::string shown(std::string_view s, std::size_t max = 160) {
    std::string out;
    for (unsigned char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
    if (s.size() > max) out += "...";
    return out;
}

std::string pkt(std::string_view payload) {
    static const char hex[] = "0123456789abcdef";
    std::size_t n = payload.size() + 4;
    std::string out{hex[(n >> 12) & 15], hex[(n >> 8) & 15], hex[(n >> 4) & 15], hex[n & 15]};
    return out.append(payload);
}

/// One pkt-line: data, or one of the special packets.
struct Pkt {
    enum class Type { data, flush, delim, end } type = Type::data;
    std::string data;
};

/// Reads pkt-lines from `io`, bounded by bytes and the deadline.
class PktReader {
  public:
    PktReader(LsRefsIo &io, const LsRefsRequest &req, Clock::time_point deadline) : io_(io), req_(req), deadline_(deadline) {}
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

    Result<Pkt> next() {
        FJORD_TRY(need(4));
        unsigned n = 0;
        for (int i = 0; i < 4; ++i) {
            char c = buf_[pos_ + i];
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (v < 0) return garbage("not a pkt-line (\"" + shown(std::string_view(buf_).substr(pos_, 16)) + "\")");
            n = n * 16 + unsigned(v);
        }
        pos_ += 4;
        if (n == 0) return Pkt{Pkt::Type::flush, {}};
        if (n == 1) return Pkt{Pkt::Type::delim, {}};
        if (n == 2) return Pkt{Pkt::Type::end, {}};
        if (n < 4 || n > 65520) return garbage("a pkt-line of length " + std::to_string(n));
        FJORD_TRY(need(n - 4));
        Pkt p{Pkt::Type::data, buf_.substr(pos_, n - 4)};
        pos_ += n - 4;
        if (pos_ > 65536) {
            buf_.erase(0, pos_);
            pos_ = 0;
        }
        if (p.data.rfind("ERR ", 0) == 0) return fail(Errc::network, req_.url + ": the server says: " + shown(p.data.substr(4)));
        if (!p.data.empty() && p.data.back() == '\n') p.data.pop_back();
        return p;
    }

    tl::unexpected<Error> garbage(const std::string &why) const {
        return fail(Errc::network, req_.url + ": the server answered with garbage: " + why);
    }

  private:
    Status need(std::size_t n) {
        while (buf_.size() - pos_ < n) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
            if (left <= 0) return fail(Errc::network, req_.url + ": timed out after " + std::to_string(req_.timeout.count()) + " ms");
            if (bytes_ >= req_.max_bytes)
                return fail(Errc::network, req_.url + ": the server sent more than " + std::to_string(req_.max_bytes) + " bytes");
            char chunk[16384];
            std::size_t want = std::size_t(std::min<std::uint64_t>(sizeof chunk, req_.max_bytes - bytes_));
            long got = io_.read(chunk, want, int(std::min<long long>(left, 1 << 30)));
            if (got == -ETIMEDOUT) continue;
            if (got < 0) return fail(Errc::network, req_.url + ": read: " + std::strerror(int(-got)));
            if (got == 0)
                return fail(Errc::network, req_.url + (bytes_ == 0 ? ": the server closed the connection without answering"
                                                                   : ": the server closed the connection mid-answer"));
            bytes_ += std::uint64_t(got);
            buf_.append(chunk, std::size_t(got));
        }
        return {};
    }

    LsRefsIo &io_;
    const LsRefsRequest &req_;
    Clock::time_point deadline_;
    std::string buf_;
    std::size_t pos_ = 0;
    std::uint64_t bytes_ = 0;
};

bool under(const LsRefsRequest &req, std::string_view ref) {
    if (req.prefixes.empty()) return true;
    for (const auto &p : req.prefixes)
        if (ref.substr(0, p.size()) == p) return true;
    return false;
}

/// "OID SP NAME" (v2: attributes after another blank; v0: capabilities after a NUL on the first).
Status add_ref(const LsRefsRequest &req, PktReader &r, std::string_view line, LsRefsAnswer &out, std::size_t &listed) {
    if (++listed > req.max_refs) return fail(Errc::network, req.url + ": the server listed more than " + std::to_string(req.max_refs) + " refs");
    auto sp = line.find(' ');
    if (sp == std::string_view::npos || !is_object_id(line.substr(0, sp))) return r.garbage("a ref line \"" + shown(line) + "\"");
    std::string_view name = line.substr(sp + 1);
    name = name.substr(0, std::min(name.find(' '), name.find('\0')));
    if (name.empty() || name.size() > 1024 || has_control(name)) return r.garbage("a ref name \"" + shown(name) + "\"");
    if (name.size() > 3 && name.substr(name.size() - 3) == "^{}") return {}; // v0's peeled tags
    if (under(req, name)) out.refs[std::string(name)] = std::string(line.substr(0, sp));
    return {};
}

} // namespace

bool is_object_id(std::string_view s) {
    if (s.size() != 40 && s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Result<LsRefsEndpoint> parse_ls_refs_url(const std::string &url) {
    auto bad = [&](const std::string &why) { return fail(Errc::invalid, "status URL \"" + shown(url) + "\": " + why); };
    if (has_control(url)) return bad("holds control characters");
    LsRefsEndpoint ep;
    std::string rest;
    bool scp = false;
    if (url.rfind("git://", 0) == 0) ep.kind = LsRefsEndpoint::Kind::git, rest = url.substr(6);
    else if (url.rfind("ssh://", 0) == 0) ep.kind = LsRefsEndpoint::Kind::ssh, rest = url.substr(6);
    else if (url.rfind("file://", 0) == 0) ep.path = url.substr(7);
    else if (!url.empty() && url[0] == '/') ep.path = url;
    else if (auto colon = url.find(':'); colon != std::string::npos && colon > 0 && url.find('/') > colon && url.find("://") == std::string::npos) {
        // scp-like "[user@]host:path", as git (and report.url) take it: ssh, the path as given
        // (relative to the account's home when it does not start with '/').
        ep.kind = LsRefsEndpoint::Kind::ssh;
        std::string path = url.substr(colon + 1);
        if (path.empty() || path[0] == '-') return bad("bad path after the host");
        rest = url.substr(0, colon) + (path[0] == '/' ? "" : "/~/") + path;
        scp = true;
    } else return bad("not git://, ssh://, [user@]host:path, file:// or an absolute path");
    if (ep.kind != LsRefsEndpoint::Kind::file) {
        auto slash = rest.find('/');
        if (slash == std::string::npos) return bad("no path after the host");
        std::string authority = rest.substr(0, slash);
        ep.path = rest.substr(slash);
        if (auto at = authority.rfind('@'); at != std::string::npos) {
            if (ep.kind == LsRefsEndpoint::Kind::git) return bad("git:// takes no user");
            ep.user = authority.substr(0, at);
            authority.erase(0, at + 1);
            if (ep.user.empty() || ep.user[0] == '-' || ep.user.find_first_of(":/ ") != std::string::npos) return bad("bad user");
        }
        if (!authority.empty() && authority[0] == '[') {
            auto close = authority.find(']');
            if (close == std::string::npos) return bad("unclosed [");
            ep.host = authority.substr(1, close - 1);
            if (close + 1 < authority.size()) {
                if (authority[close + 1] != ':') return bad("bad host");
                ep.port = authority.substr(close + 2);
            }
        } else {
            auto colon = authority.find(':');
            ep.host = authority.substr(0, colon);
            if (colon != std::string::npos) ep.port = authority.substr(colon + 1);
        }
        if (ep.host.empty() || ep.host[0] == '-' || ep.host.find(' ') != std::string::npos) return bad("bad host");
        if (!ep.port.empty() && (ep.port.size() > 5 || ep.port.find_first_not_of("0123456789") != std::string::npos)) return bad("bad port");
    }
    if (scp && ep.path.rfind("/~/", 0) == 0) ep.path.erase(0, 3); // relative to the home, as ssh runs it
    else if (ep.path.empty() || ep.path[0] != '/') return bad("the path must be absolute");
    if (ep.path.empty() || ep.path.size() > 4096) return bad("the path must be absolute");
    return ep;
}

Result<LsRefsAnswer> ls_refs_talk(const LsRefsRequest &req, LsRefsIo &io) {
    auto ep = parse_ls_refs_url(req.url);
    if (!ep) return fail(ep.error());
    for (const auto &p : req.prefixes)
        if (p.empty() || p.size() > 1000 || has_control(p)) return fail(Errc::invalid, req.url + ": bad ref prefix \"" + shown(p) + "\"");
    auto send = [&](const std::string &bytes) -> Status {
        if (!io.write(bytes)) return fail(Errc::network, req.url + ": write: the connection was closed");
        return {};
    };
    if (ep->kind == LsRefsEndpoint::Kind::git) {
        using namespace std::string_literals;
        FJORD_TRY(send(pkt("git-upload-pack "s + ep->path + '\0' + "host=" + ep->host + (ep->port.empty() ? "" : ":" + ep->port) +
                           '\0' + '\0' + "version=2" + '\0')));
    }
    PktReader r(io, req, Clock::now() + req.timeout);
    LsRefsAnswer out;
    std::size_t listed = 0;
    auto first = r.next();
    if (!first) return fail(first.error());
    if (first->type == Pkt::Type::data && first->data == "version 1") {
        first = r.next();
        if (!first) return fail(first.error());
    }
    if (first->type == Pkt::Type::data && first->data == "version 2") {
        bool ls_refs = false;
        std::string format;
        for (;;) {
            auto p = r.next();
            if (!p) return fail(p.error());
            if (p->type == Pkt::Type::flush) break;
            if (p->type != Pkt::Type::data) return r.garbage("a special packet among the capabilities");
            if (p->data == "ls-refs" || p->data.rfind("ls-refs=", 0) == 0) ls_refs = true;
            if (p->data.rfind("object-format=", 0) == 0) format = p->data.substr(14);
        }
        if (!ls_refs) return fail(Errc::network, req.url + ": the server speaks protocol v2 without ls-refs");
        std::string q = pkt("command=ls-refs\n") + (format.empty() || has_control(format) ? "" : pkt("object-format=" + format + "\n")) + "0001";
        for (const auto &p : req.prefixes) q += pkt("ref-prefix " + p + "\n");
        FJORD_TRY(send(q + "0000"));
        for (;;) {
            auto p = r.next();
            if (!p) return fail(p.error());
            if (p->type == Pkt::Type::flush) break;
            if (p->type != Pkt::Type::data) return r.garbage("a special packet among the refs");
            FJORD_TRY(add_ref(req, r, p->data, out, listed));
        }
        out.bytes_read = r.bytes();
        return out;
    }
    // Protocol v0: the whole advertisement, then a flush (no wants) ends the conversation.
    out.v0 = true;
    for (auto p = std::move(first);; p = r.next()) {
        if (!p) return fail(p.error());
        if (p->type == Pkt::Type::flush) break;
        if (p->type != Pkt::Type::data) return r.garbage("a special packet in a v0 advertisement");
        if (p->data.find("capabilities^{}") != std::string::npos && listed == 0) {
            ++listed;
            continue;
        }
        FJORD_TRY(add_ref(req, r, p->data, out, listed));
    }
    (void)io.write("0000");
    out.bytes_read = r.bytes();
    return out;
}

LsRefsTransport::LsRefsTransport(LsRefsTransport &&o) noexcept
    : ep_(std::move(o.ep_)), pid_(std::exchange(o.pid_, -1)), from_(std::exchange(o.from_, -1)), to_(std::exchange(o.to_, -1)),
      err_(std::exchange(o.err_, -1)) {}

LsRefsTransport::~LsRefsTransport() { finish(); }

Result<LsRefsTransport> LsRefsTransport::open(const LsRefsRequest &req) {
    auto ep = parse_ls_refs_url(req.url);
    if (!ep) return fail(ep.error());
    LsRefsTransport t;
    t.ep_ = *ep;
    if (ep->kind == LsRefsEndpoint::Kind::git) return t;
    std::vector<std::string> argv, env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
    if (ep->kind == LsRefsEndpoint::Kind::ssh) {
        if (req.known_hosts.empty()) return fail(Errc::invalid, req.url + ": ssh needs a known_hosts file");
        std::string quoted = "'";
        for (char c : ep->path) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        quoted += "'";
        argv = {"ssh", "-F", "/dev/null", "-o", "SetEnv=GIT_PROTOCOL=version=2", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=" + req.known_hosts, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=" + std::to_string(std::max<long long>(1, req.timeout.count() / 1000))};
        if (!req.ssh_key.empty()) argv.insert(argv.end(), {"-o", "IdentitiesOnly=yes", "-i", req.ssh_key});
        if (!ep->port.empty()) argv.insert(argv.end(), {"-p", ep->port});
        if (!ep->user.empty()) argv.insert(argv.end(), {"-l", ep->user});
        argv.insert(argv.end(), {"--", ep->host, "git-upload-pack " + quoted});
    } else {
        if (ep->path[0] == '-') return fail(Errc::invalid, req.url + ": bad path");
        argv = {"git-upload-pack", "--strict", ep->path};
        env.push_back("GIT_PROTOCOL=version=2");
    }
    // One socketpair is the process's stdin and stdout: writes to it take MSG_NOSIGNAL, so a
    // process that died never raises SIGPIPE in the talker.
    int sv[2], ev[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return fail(Errc::io, std::string("socketpair: ") + std::strerror(errno));
    if (::pipe2(ev, O_CLOEXEC) != 0) {
        ::close(sv[0]), ::close(sv[1]);
        return fail(Errc::io, std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
    posix_spawn_file_actions_adddup2(&fa, ev[1], 2);
    std::vector<char *> av, envp;
    for (auto &a : argv) av.push_back(a.data());
    av.push_back(nullptr);
    for (auto &e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string exe = argv[0] == "ssh" ? "/usr/bin/ssh" : "/usr/bin/git-upload-pack";
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, av.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(sv[1]);
    ::close(ev[1]);
    if (rc != 0) {
        ::close(sv[0]), ::close(ev[0]);
        return fail(Errc::unavailable, req.url + ": cannot run " + exe + ": " + std::strerror(rc) +
                                           (argv[0] == "ssh" ? " (install openssh-client)" : " (file:// status repos need git installed)"));
    }
    t.pid_ = pid;
    t.from_ = t.to_ = sv[0];
    t.err_ = ev[0];
    return t;
}

Result<LsRefsAnswer> LsRefsTransport::talk(const LsRefsRequest &req) {
    int fd = from_;
    bool own = false;
    if (ep_.kind == LsRefsEndpoint::Kind::git) {
        addrinfo hints{}, *ai = nullptr;
        hints.ai_socktype = SOCK_STREAM;
        std::string port = ep_.port.empty() ? "9418" : ep_.port;
        if (int e = ::getaddrinfo(ep_.host.c_str(), port.c_str(), &hints, &ai); e != 0)
            return fail(Errc::network, req.url + ": cannot resolve " + ep_.host + ": " + ::gai_strerror(e));
        int last = 0;
        for (addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
            fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
            if (fd < 0) { last = errno; continue; }
            timeval tv{long(req.timeout.count() / 1000), long(req.timeout.count() % 1000) * 1000};
            (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); // bounds connect() too
            if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
                last = errno;
                ::close(fd);
                fd = -1;
            }
        }
        ::freeaddrinfo(ai);
        if (fd < 0) return fail(Errc::network, req.url + ": connect: " + std::strerror(last));
        own = true;
    }
    LsRefsIo io{[fd](char *buf, std::size_t n, int ms) -> long {
                    pollfd p{fd, POLLIN, 0};
                    int r = ::poll(&p, 1, ms);
                    if (r < 0) return errno == EINTR ? -ETIMEDOUT : -errno;
                    if (r == 0) return -ETIMEDOUT;
                    ssize_t got = ::read(fd, buf, n);
                    return got < 0 ? (errno == EINTR || errno == EAGAIN ? -ETIMEDOUT : -errno) : long(got);
                },
                [fd](const std::string &s) {
                    for (std::size_t off = 0; off < s.size();) {
                        ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
                        if (w < 0 && errno == EINTR) continue;
                        if (w <= 0) return false;
                        off += std::size_t(w);
                    }
                    return true;
                }};
    auto answer = ls_refs_talk(req, io);
    if (own) ::close(fd);
    else ::shutdown(fd, SHUT_WR); // upload-pack waits for another command: EOF ends it
    return answer;
}

void LsRefsTransport::finish() {
    if (from_ >= 0) ::close(from_);
    from_ = to_ = -1;
    if (pid_ > 0) {
        // Closed stdin ends git-upload-pack and ssh at once; one that lingers is killed.
        for (int i = 0; i < 100; ++i) {
            int st;
            if (::waitpid(pid_, &st, WNOHANG) != 0) { pid_ = -1; break; }
            ::usleep(10'000);
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    if (err_ >= 0) ::close(err_);
    err_ = -1;
}

Error LsRefsTransport::finish(Error e) {
    if (from_ >= 0) ::close(from_);
    from_ = to_ = -1;
    std::string said;
    if (err_ >= 0) {
        // The process is ending: what it said on stderr is there or follows at its exit.
        pollfd p{err_, POLLIN, 0};
        char buf[4096];
        while (said.size() < 4096 && ::poll(&p, 1, 2000) > 0) {
            ssize_t n = ::read(err_, buf, sizeof buf);
            if (n <= 0) break;
            said.append(buf, std::size_t(n));
        }
    }
    finish();
    // Its last line says why ("Host key verification failed.", "fatal: ...").
    auto blank = [](char c) { return c == '\n' || c == '\r' || c == ' ' || c == '\t'; };
    while (!said.empty() && blank(said.back())) said.pop_back();
    if (auto nl = said.rfind('\n'); nl != std::string::npos) said.erase(0, nl + 1);
    while (!said.empty() && blank(said.front())) said.erase(0, 1);
    if (!said.empty()) e.message += " (" + shown(said, 300) + ")";
    return e;
}

Result<LsRefsAnswer> ls_refs(const LsRefsRequest &req) {
    auto t = LsRefsTransport::open(req);
    if (!t) return fail(t.error());
    auto a = t->talk(req);
    if (!a) return fail(t->finish(std::move(a.error())));
    t->finish();
    return a;
}

} // namespace fjord::fleet
