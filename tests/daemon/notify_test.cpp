#include "daemon/notify.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <future>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

// A fake receiver: records bodies; fails the first `fail_first` attempts; may block until
// aborted (a receiver that never answers).
struct FakeReceiver {
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> got; // url, body
    int attempts = 0;
    int fail_first = 0;
    bool retryable = true;
    bool hang = false;
    bool saw_abort = false;

    NotifySender sender() {
        return [this](const NotifyRequest &req, std::chrono::milliseconds, const std::function<bool()> &aborted) {
            {
                std::lock_guard lk(mu);
                ++attempts;
                if (hang) {
                    // Stands in for curl's progress callback: poll the abort flag.
                } else if (attempts <= fail_first) {
                    return SendResult{false, retryable, "HTTP 500"};
                } else {
                    got.emplace_back(req.url, req.body);
                    return SendResult{true, false, "HTTP 200"};
                }
            }
            while (!aborted()) std::this_thread::sleep_for(5ms);
            std::lock_guard lk(mu);
            saw_abort = true;
            return SendResult{false, false, "aborted at shutdown"};
        };
    }
    std::size_t count() {
        std::lock_guard lk(mu);
        return got.size();
    }
};

NotifyOptions fast() {
    NotifyOptions o;
    o.backoff = 10ms;
    o.grace = 300ms;
    o.timeout = 100ms;
    return o;
}

bool wait_for(const std::function<bool()> &cond, std::chrono::milliseconds limit = 3s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (cond()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return cond();
}

NotifyEvent ev(const std::string &event, const std::string &summary = "s") {
    return NotifyEvent{event, "0123456789abcdef0123456789abcdef01234567", 7, 1700000000, summary, false};
}

} // namespace

TEST_CASE("notify: the payload has host, event, commit, generation, RFC 3339 time and summary") {
    auto j = nlohmann::json::parse(notify_payload(ev("applied", "applied 0123 as generation 7 (1 written)"), "web1"));
    CHECK(j["host"] == "web1");
    CHECK(j["event"] == "applied");
    CHECK(j["commit"] == "0123456789abcdef0123456789abcdef01234567");
    CHECK(j["generation"] == 7);
    CHECK(j["time"] == "2023-11-14T22:13:20Z");
    CHECK(j["summary"] == "applied 0123 as generation 7 (1 written)");
    CHECK(j.size() == 6);
    // Bytes that are not UTF-8 (a commit subject) are replaced, never a throw.
    CHECK_NOTHROW((void)notify_payload(ev("failed", std::string("bad \xff byte")), "h"));
}

TEST_CASE("notify: only targets subscribed to an event get it") {
    FakeReceiver rx;
    {
        Notifier n({{"http://a/", {"applied"}, NotifyFormat::json, ""}, {"http://b/", {"failed", "drift"}, NotifyFormat::json, ""}}, fast(), rx.sender(), "h");
        n.send(ev("applied"));
        n.send(ev("drift"));
        n.send(ev("refused"));
        REQUIRE(wait_for([&] { return rx.count() == 2; }));
        CHECK(n.delivered() == 2);
    }
    CHECK(rx.got[0].first == "http://a/");
    CHECK(nlohmann::json::parse(rx.got[0].second)["event"] == "applied");
    CHECK(rx.got[1].first == "http://b/");
    CHECK(nlohmann::json::parse(rx.got[1].second)["event"] == "drift");
}

TEST_CASE("notify: failures are retried with backoff up to the attempt limit") {
    FakeReceiver rx;
    rx.fail_first = 2;
    {
        Notifier n({{"http://a/", {"applied"}, NotifyFormat::json, ""}}, fast(), rx.sender(), "h");
        n.send(ev("applied"));
        REQUIRE(wait_for([&] { return rx.count() == 1; }));
        CHECK(n.failed() == 0);
    }
    CHECK(rx.attempts == 3);

    FakeReceiver down;
    down.fail_first = 100;
    {
        Notifier n({{"http://a/", {"applied"}, NotifyFormat::json, ""}}, fast(), down.sender(), "h");
        auto start = std::chrono::steady_clock::now();
        n.send(ev("applied"));
        REQUIRE(wait_for([&] { return n.failed() == 1; }));
        // 4 attempts with 10, 20, 40 ms between them: at least 70 ms.
        CHECK(std::chrono::steady_clock::now() - start >= 70ms);
    }
    CHECK(down.attempts == 4);

    FakeReceiver bad_request;
    bad_request.fail_first = 100;
    bad_request.retryable = false; // a 4xx: trying again will not help
    {
        Notifier n({{"http://a/", {"applied"}, NotifyFormat::json, ""}}, fast(), bad_request.sender(), "h");
        n.send(ev("applied"));
        REQUIRE(wait_for([&] { return n.failed() == 1; }));
    }
    CHECK(bad_request.attempts == 1);
}

TEST_CASE("notify: a full queue drops the oldest; send() never blocks on a hung receiver") {
    FakeReceiver rx;
    rx.hang = true;
    auto opts = fast();
    opts.queue_limit = 3;
    auto start = std::chrono::steady_clock::now();
    {
        Notifier n({{"http://a/", {"applied"}, NotifyFormat::json, ""}}, opts, rx.sender(), "h");
        n.send(ev("applied", "0"));
        REQUIRE(wait_for([&] { return rx.attempts == 1; })); // "0" is in flight, hung
        for (int i = 1; i <= 5; ++i) n.send(ev("applied", std::to_string(i)));
        CHECK(std::chrono::steady_clock::now() - start < 1s);
        CHECK(n.dropped() == 2); // "1" and "2" went; "3", "4", "5" wait
        CHECK(n.pending() == 4);
    }
    // Shutdown: the grace (300 ms) passes, the hung send is aborted, the rest dropped.
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < 2s);
    CHECK(rx.saw_abort);
    CHECK(rx.attempts == 1);
}

TEST_CASE("notify: pending deliveries get the grace at shutdown, then stop") {
    FakeReceiver rx;
    {
        Notifier n({{"http://a/", {"applied"}, NotifyFormat::json, ""}}, fast(), rx.sender(), "h");
        for (int i = 0; i < 5; ++i) n.send(ev("applied", std::to_string(i)));
    } // the destructor waits for them: all are quick
    CHECK(rx.count() == 5);
}

TEST_CASE("notify: a repeated failure or refusal is sent once; anything else in between resets it") {
    FakeReceiver rx;
    {
        Notifier n({{"http://a/", {"applied", "failed"}, NotifyFormat::json, ""}}, fast(), rx.sender(), "h");
        auto f = ev("failed", "network down");
        f.dedupe = true;
        n.send(f);
        n.send(f);
        n.send(ev("applied"));
        n.send(f);
        REQUIRE(wait_for([&] { return rx.count() == 3; }));
    }
    CHECK(rx.count() == 3);
}


TEST_CASE("a FIFO as token_file is refused at once, never read (it would hang the notifier)") {
    char dir[] = "/tmp/fjord-notify-XXXXXX";
    REQUIRE(::mkdtemp(dir));
    std::string fifo = std::string(dir) + "/token";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    NotifyRequest req;
    req.url = "http://127.0.0.1:9/x"; // never reached
    req.auth = "Authorization: Bearer ";
    req.token_file = fifo;
    auto sent = std::async(std::launch::async, [&] { return curl_send(req, std::chrono::milliseconds(2000), [] { return false; }); });
    bool at_once = sent.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    CHECK(at_once);
    if (!at_once) ::close(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)); // a writer lets the blocked open return
    SendResult r = sent.get();
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.retry);
    CHECK(r.detail.find("not a regular file") != std::string::npos);
    ::unlink(fifo.c_str());
    ::rmdir(dir);
}
