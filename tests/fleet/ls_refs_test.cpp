#include "fleet/ls_refs.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <unistd.h>

using namespace fjord;
using namespace fjord::fleet;

namespace {

std::string pkt(const std::string &s) {
    char h[5];
    std::snprintf(h, sizeof h, "%04x", unsigned(s.size() + 4));
    return h + s;
}

const std::string A(40, 'a'), B(40, 'b');

/// A server that answers `reply` (in chunks of `chunk` bytes) and records what it was sent.
struct Scripted {
    std::string reply, sent;
    std::size_t pos = 0, chunk = 7;
    LsRefsIo io() {
        return {[this](char *buf, std::size_t n, int) -> long {
                    std::size_t k = std::min({n, chunk, reply.size() - pos});
                    std::memcpy(buf, reply.data() + pos, k);
                    pos += k;
                    return long(k);
                },
                [this](const std::string &s) {
                    sent += s;
                    return true;
                }};
    }
};

LsRefsRequest request(std::string url = "git://example.net/status.git") {
    LsRefsRequest r;
    r.url = std::move(url);
    r.prefixes = {"refs/fjord/waves/canary/"};
    return r;
}

Result<LsRefsAnswer> talk(Scripted &s, const LsRefsRequest &r) {
    auto io = s.io();
    return ls_refs_talk(r, io);
}

std::string v2_caps() { return pkt("version 2\n") + pkt("agent=git/2.39\n") + pkt("ls-refs=unborn\n") + pkt("object-format=sha1\n") + "0000"; }

} // namespace

TEST_CASE("ls-refs v2: the request names the prefixes; the answer is what was listed under them") {
    Scripted s;
    s.reply = v2_caps() + pkt(A + " refs/fjord/waves/canary/web1\n") + pkt(B + " refs/fjord/waves/canary/web2") +
              pkt(A + " refs/heads/main\n") + "0000";
    auto a = talk(s, request());
    REQUIRE_MESSAGE(a, a.error().message);
    CHECK(!a->v0);
    CHECK(a->refs == std::map<std::string, std::string>{{"refs/fjord/waves/canary/web1", A}, {"refs/fjord/waves/canary/web2", B}});
    CHECK(a->bytes_read == s.reply.size());
    CHECK(s.sent.rfind(pkt(std::string("git-upload-pack /status.git") + '\0' + "host=example.net" + '\0' + '\0' + "version=2" + '\0'), 0) == 0);
    CHECK(s.sent.find(pkt("command=ls-refs\n") + pkt("object-format=sha1\n") + "0001" + pkt("ref-prefix refs/fjord/waves/canary/\n") + "0000") !=
          std::string::npos);
    Scripted f;
    f.reply = v2_caps() + "0000";
    auto file = talk(f, request("/srv/status.git"));
    REQUIRE(file);
    CHECK(file->refs.empty());
    CHECK(f.sent.rfind(pkt("command=ls-refs\n"), 0) == 0); // no git:// request line over a pipe
}

TEST_CASE("ls-refs v0: a server without v2 is read whole and filtered here") {
    Scripted s;
    s.reply = pkt(A + " HEAD" + '\0' + "multi_ack side-band-64k\n") + pkt(A + " refs/fjord/waves/canary/web1\n") +
              pkt(B + " refs/fjord/waves/early/web9\n") + pkt(B + " refs/fjord/waves/canary/web1^{}\n") + "0000";
    auto a = talk(s, request());
    REQUIRE(a);
    CHECK(a->v0);
    CHECK(a->refs == std::map<std::string, std::string>{{"refs/fjord/waves/canary/web1", A}});
    CHECK(s.sent.substr(s.sent.size() - 4) == "0000"); // no wants
    Scripted empty;
    empty.reply = pkt(std::string(40, '0') + " capabilities^{}" + '\0' + "agent=x\n") + "0000";
    auto e = talk(empty, request());
    REQUIRE(e);
    CHECK(e->refs.empty());
    Scripted v1;
    v1.reply = pkt("version 1\n") + pkt(A + " refs/fjord/waves/canary/x" + '\0' + "caps\n") + "0000";
    auto one = talk(v1, request());
    REQUIRE(one);
    CHECK(one->refs.size() == 1);
}

TEST_CASE("ls-refs: garbage, an ERR packet, a short answer and the bounds are errors naming the URL") {
    struct Case {
        std::string reply, want;
    };
    const Case cases[] = {
        {"HTTP/1.1 200 OK\r\n\r\n", "the server answered with garbage: not a pkt-line"},
        {"0003", "a pkt-line of length 3"},
        {"fff0" + std::string(100, 'x'), "closed the connection mid-answer"},
        {"", "closed the connection without answering"},
        {pkt("ERR access denied or repository not exported: /x\n"), "the server says: access denied"},
        {v2_caps() + pkt("zz refs/x\n") + "0000", "a ref line \"zz refs/x\""},
        {v2_caps() + pkt(A + " refs/a\x01z\n") + "0000", "a ref name \"refs/a?z\""},
        {v2_caps() + "0001", "a special packet among the refs"},
        {pkt("version 2\n") + pkt("agent=x\n") + "0000", "protocol v2 without ls-refs"},
        {pkt(A + " refs/x\n") + "0002", "a special packet in a v0 advertisement"},
    };
    for (const auto &c : cases) {
        CAPTURE(c.want);
        Scripted s;
        s.reply = c.reply;
        auto a = talk(s, request());
        REQUIRE(!a);
        CHECK_MESSAGE(a.error().message.find(c.want) != std::string::npos, a.error().message);
        CHECK(a.error().message.rfind("git://example.net/status.git: ", 0) == 0);
    }
    Scripted big;
    big.reply = v2_caps();
    for (int i = 0; i < 100; ++i) big.reply += pkt(A + " refs/fjord/waves/canary/h" + std::to_string(i) + "\n");
    big.reply += "0000";
    auto r = request();
    r.max_refs = 50;
    auto many = talk(big, r);
    REQUIRE(!many);
    CHECK(many.error().message.find("more than 50 refs") != std::string::npos);
    big.pos = 0;
    r = request();
    r.max_bytes = 1000;
    auto bytes = talk(big, r);
    REQUIRE(!bytes);
    CHECK(bytes.error().message.find("more than 1000 bytes") != std::string::npos);
}

TEST_CASE("ls-refs: a server that says nothing times out") {
    LsRefsIo io{[](char *, std::size_t, int ms) -> long {
                    CHECK(ms <= 200);
                    ::usleep(1000); // as poll() would wait
                    return -ETIMEDOUT;
                },
                [](const std::string &) { return true; }};
    auto r = request();
    r.timeout = std::chrono::milliseconds(50);
    auto a = ls_refs_talk(r, io);
    REQUIRE(!a);
    CHECK(a.error().message.find("timed out after 50 ms") != std::string::npos);
}

TEST_CASE("ls-refs URLs") {
    auto g = parse_ls_refs_url("git://127.0.0.1:9418/status.git");
    REQUIRE(g);
    CHECK(g->kind == LsRefsEndpoint::Kind::git);
    CHECK(g->host == "127.0.0.1");
    CHECK(g->port == "9418");
    CHECK(g->path == "/status.git");
    auto s = parse_ls_refs_url("ssh://git@[::1]:2222/srv/s.git");
    REQUIRE(s);
    CHECK(s->user == "git");
    CHECK(s->host == "::1");
    CHECK(s->port == "2222");
    auto f = parse_ls_refs_url("file:///srv/s.git");
    REQUIRE(f);
    CHECK(f->path == "/srv/s.git");
    CHECK(parse_ls_refs_url("/srv/s.git"));
    // scp-like, as report.url takes it (and pushes go to it): ssh, the path as given.
    auto scp = parse_ls_refs_url("git@git.example.net:ops/status.git");
    REQUIRE(scp);
    CHECK(scp->kind == LsRefsEndpoint::Kind::ssh);
    CHECK(scp->user == "git");
    CHECK(scp->host == "git.example.net");
    CHECK(scp->port.empty());
    CHECK(scp->path == "ops/status.git");
    auto abs = parse_ls_refs_url("example.net:/srv/status.git");
    REQUIRE(abs);
    CHECK(abs->user.empty());
    CHECK(abs->path == "/srv/status.git");
    for (const char *bad : {"https://x/y", "git://x", "ssh://-oProxyCommand=x/y", "ssh://a:b@x/y", "git://u@x/y", "git://x:9x/y", "rel/path",
                            "file://rel", "git://x/a\nb", "-oProxyCommand=x:y", "host:-upload", "host:", ":path"}) {
        CAPTURE(bad);
        auto e = parse_ls_refs_url(bad);
        REQUIRE(!e);
        CHECK(e.error().message.rfind("status URL", 0) == 0);
    }
}
