#pragma once
// A minimal Git protocol v2 `ls-refs` client with `ref-prefix` (issue 20's gate check). libgit2
// 1.5 speaks only protocol v0, whose first message lists EVERY ref of the status repo (one a
// host: ~1 MB at 10,000 hosts); v2 lists only the refs under the prefixes asked for. Transports:
// git:// (TCP), ssh:// (OpenSSH's ssh with SetEnv=GIT_PROTOCOL=version=2, our known_hosts only)
// and file:// or a local path (git-upload-pack with GIT_PROTOCOL=version=2; needs git
// installed). A server that answers v0 is read as v0 and filtered here: right, only costlier.
// Everything the server sends is untrusted: strict pkt-line parsing, bounded bytes and refs, a
// deadline. sandbox/ runs the conversation in a sandboxed child (ls_refs_isolated).
#include "util/result.hpp"
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fjord::fleet {

/// What to list, where, and the bounds.
struct LsRefsRequest {
    std::string url;                    ///< git://host[:port]/path, ssh://[user@]host[:port]/path, file:///path or /path
    std::vector<std::string> prefixes;  ///< "refs/fjord/waves/canary/"...; empty: every ref
    std::string ssh_key;                ///< ssh: the private key (-i)
    std::string known_hosts;            ///< ssh: the only known_hosts file consulted
    std::chrono::milliseconds timeout{30'000};
    std::uint64_t max_bytes = 4u << 20; ///< bytes read from the server, at most
    std::size_t max_refs = 200'000;     ///< refs listed, at most (v0: refs advertised)
};

/// What the server listed under the prefixes.
struct LsRefsAnswer {
    std::map<std::string, std::string> refs; ///< ref name -> object id
    std::uint64_t bytes_read = 0;            ///< from the server, pkt-line framing included
    bool v0 = false;                         ///< the server spoke v0: its whole advertisement was read
};

/// A parsed URL.
struct LsRefsEndpoint {
    enum class Kind { git, ssh, file } kind = Kind::file;
    std::string user, host, port, path;
};
[[nodiscard]] Result<LsRefsEndpoint> parse_ls_refs_url(const std::string &url);

/// The connection's two ends: where server bytes are read and the request is written.
struct LsRefsIo {
    std::function<long(char *, std::size_t, int timeout_ms)> read;   ///< >0 bytes, 0 EOF, <0 -errno (-ETIMEDOUT)
    std::function<bool(const std::string &)> write;                  ///< whole buffer or false
};

/// The conversation over `io` (no process, no socket of its own): reads the server's first
/// message, sends ls-refs (v2) or a flush (v0), parses and bounds everything. Errors name
/// `req.url` (never a key).
[[nodiscard]] Result<LsRefsAnswer> ls_refs_talk(const LsRefsRequest &req, LsRefsIo &io);

/// A transport made ready for ls_refs_talk: for ssh and file a spawned process (stdin/stdout
/// pipes), for git:// nothing yet (the TCP connection is made where the talk runs).
class LsRefsTransport {
  public:
    LsRefsTransport() = default;
    LsRefsTransport(const LsRefsTransport &) = delete;
    LsRefsTransport &operator=(const LsRefsTransport &) = delete;
    LsRefsTransport(LsRefsTransport &&o) noexcept;
    ~LsRefsTransport();
    /// Spawns ssh or git-upload-pack as `req`'s URL asks.
    [[nodiscard]] static Result<LsRefsTransport> open(const LsRefsRequest &req);
    /// Talks over the process's pipes or a TCP connection it makes now. Runs in the caller's
    /// process: call it in the sandboxed child.
    [[nodiscard]] Result<LsRefsAnswer> talk(const LsRefsRequest &req);
    /// The descriptors the talk needs (for a sandbox to keep): -1 when none.
    [[nodiscard]] int read_fd() const { return from_; }
    [[nodiscard]] int write_fd() const { return to_; }
    /// Ends the process (if any) and adds what it said on stderr to `e` ("Host key verification failed.").
    [[nodiscard]] Error finish(Error e);
    void finish();

  private:
    LsRefsEndpoint ep_;
    int pid_ = -1, from_ = -1, to_ = -1, err_ = -1;
};

/// Open, talk and finish in this process (tools and tests; fjordd uses ls_refs_isolated).
[[nodiscard]] Result<LsRefsAnswer> ls_refs(const LsRefsRequest &req);

} // namespace fjord::fleet
