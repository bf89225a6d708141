#include "control/events.hpp"
#include "daemon/log_sinks.hpp"

#include "support/tz_guard.hpp"

#include <doctest/doctest.h>
#include <cstdlib>
#include <ctime>
#include <algorithm>
#include <regex>
#include <unistd.h>

using namespace fjord;
using namespace std::chrono_literals;

namespace {

// What went to a descriptor: a pipe read after the writes (lines are short, the pipe holds them).
struct Pipe {
    int fd[2];
    Pipe() { REQUIRE(::pipe(fd) == 0); }
    ~Pipe() {
        ::close(fd[0]);
        if (fd[1] >= 0) ::close(fd[1]);
    }
    std::string drain() {
        ::close(fd[1]);
        fd[1] = -1;
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(fd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
        return out;
    }
};

LogEntry entry(LogLevel l, std::string text, std::string id = "") { return LogEntry{l, std::move(id), std::move(text), {}}; }

std::vector<std::string> texts(const std::vector<LogEntry> &v) {
    std::vector<std::string> out;
    for (const auto &e : v) out.push_back(e.text);
    return out;
}


} // namespace

TEST_CASE("the plain format: ISO 8601 time with milliseconds and the zone's offset, the level, the text") {
    TzGuard tz("UTC");
    Pipe p;
    Logger l(std::make_shared<FdSink>(p.fd[1]), LogLevel::debug);
    l.log(entry(LogLevel::info, "applied generation 3 {not a format}"));
    l.log(entry(LogLevel::warning, "slow"));
    l.log(entry(LogLevel::error, "broken"));
    l.log(entry(LogLevel::debug, "detail"));
    std::string out = p.drain();
    std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 (info|warning|error|debug) .*)");
    std::vector<std::string> lines;
    for (std::size_t s = 0, e; (e = out.find('\n', s)) != std::string::npos; s = e + 1) lines.push_back(out.substr(s, e - s));
    REQUIRE(lines.size() == 4);
    for (const auto &x : lines) CHECK_MESSAGE(std::regex_match(x, line), x);
    CHECK(lines[0].substr(29) == " info applied generation 3 {not a format}");
    CHECK(lines[1].substr(29) == " warning slow");
    CHECK(lines[2].substr(29) == " error broken");
    CHECK(lines[3].substr(29) == " debug detail");
}

TEST_CASE("the plain format carries a zone east of UTC as +HH:MM") {
    TzGuard tz("IST-5:30"); // POSIX TZ: +05:30, no zoneinfo file needed
    Pipe p;
    Logger l(std::make_shared<FdSink>(p.fd[1]), LogLevel::info);
    l.log(entry(LogLevel::info, "hello"));
    std::string out = p.drain();
    CHECK_MESSAGE(out.find("+05:30 info hello\n") != std::string::npos, out);
}

TEST_CASE("entries below the level are dropped") {
    Pipe p;
    Logger l(std::make_shared<FdSink>(p.fd[1]), LogLevel::warning);
    l.log(entry(LogLevel::info, "quiet"));
    l.log(entry(LogLevel::warning, "loud"));
    l.set_level(LogLevel::debug);
    l.log(entry(LogLevel::debug, "now heard"));
    std::string out = p.drain();
    CHECK(out.find("quiet") == std::string::npos);
    CHECK(out.find("warning loud") != std::string::npos);
    CHECK(out.find("debug now heard") != std::string::npos);
}

TEST_CASE("the journal sink sends PRIORITY, MESSAGE, SYSLOG_IDENTIFIER, MESSAGE_ID and the entry's fields") {
    std::vector<std::vector<std::string>> sent;
    auto send = [&](const std::vector<std::string> &f) {
        sent.push_back(f);
        return 0;
    };
    Logger l(std::make_shared<JournalSink>("fjordd", send), LogLevel::info);
    LogEntry e = entry(LogLevel::info, "applied commit abc as generation 4", msgid::applied);
    e.fields = {{"COMMIT", "abc"}, {"GENERATION", "4"}, {"UNIT", "web.service"}};
    l.log(e);
    l.log(entry(LogLevel::error, "no id"));
    REQUIRE(sent.size() == 2);
    auto has = [](const std::vector<std::string> &f, const std::string &x) { return std::find(f.begin(), f.end(), x) != f.end(); };
    CHECK(has(sent[0], "MESSAGE=applied commit abc as generation 4"));
    CHECK(has(sent[0], "PRIORITY=6"));
    CHECK(has(sent[0], "SYSLOG_IDENTIFIER=fjordd"));
    CHECK(has(sent[0], std::string("MESSAGE_ID=") + msgid::applied));
    CHECK(has(sent[0], "COMMIT=abc"));
    CHECK(has(sent[0], "GENERATION=4"));
    CHECK(has(sent[0], "UNIT=web.service"));
    CHECK(has(sent[1], "PRIORITY=3"));
    CHECK(std::none_of(sent[1].begin(), sent[1].end(), [](const std::string &f) { return f.rfind("MESSAGE_ID=", 0) == 0; }));
    CHECK(std::none_of(sent[1].begin(), sent[1].end(), [](const std::string &f) { return f.rfind("COMMIT=", 0) == 0; }));
}

TEST_CASE("a warning or error repeated within the window is logged once, then summed up") {
    RepeatLimiter lim(60s);
    RepeatLimiter::Time t0{};
    CHECK(texts(lim.admit(entry(LogLevel::error, "poll failed: timeout", msgid::failed), t0)) ==
          std::vector<std::string>{"poll failed: timeout"});
    for (int i = 1; i <= 11; ++i) CHECK(lim.admit(entry(LogLevel::error, "poll failed: timeout", msgid::failed), t0 + i * 5s).empty());
    // Another text, level or id is another message.
    CHECK(lim.admit(entry(LogLevel::warning, "poll failed: timeout", msgid::failed), t0 + 1s).size() == 1);
    CHECK(lim.admit(entry(LogLevel::error, "poll failed: timeout"), t0 + 1s).size() == 1);
    CHECK(lim.admit(entry(LogLevel::error, "poll failed: refused", msgid::failed), t0 + 1s).size() == 1);
    // The first repeat after the window: the summary (with REPEATED=), then the message again.
    LogEntry last = entry(LogLevel::error, "poll failed: timeout", msgid::failed);
    last.fields = {{"COMMIT", "c1"}};
    auto out = lim.admit(last, t0 + 60s);
    REQUIRE(out.size() == 2);
    CHECK(out[0].text == "poll failed: timeout (repeated 11 more times in 60 s)");
    CHECK(out[0].id == msgid::failed);
    CHECK(out[0].level == LogLevel::error);
    CHECK(out[0].fields == std::vector<std::pair<std::string, std::string>>{{"REPEATED", "11"}});
    CHECK(out[1].text == "poll failed: timeout");
    // The next window's summary comes with any later entry, and carries the last repeat's fields.
    CHECK(lim.admit(last, t0 + 61s).empty());
    out = lim.admit(entry(LogLevel::info, "configuration reloaded"), t0 + 200s);
    REQUIRE(out.size() == 2);
    CHECK(out[0].text == "poll failed: timeout (repeated 1 more time in 60 s)");
    CHECK(out[0].fields == std::vector<std::pair<std::string, std::string>>{{"COMMIT", "c1"}, {"REPEATED", "1"}});
    CHECK(out[1].text == "configuration reloaded");
    // A window without repeats ends silently.
    CHECK(texts(lim.admit(entry(LogLevel::error, "poll failed: timeout", msgid::failed), t0 + 400s)) ==
          std::vector<std::string>{"poll failed: timeout"});
}

TEST_CASE("info and debug entries are never held back; the tracked messages are bounded") {
    RepeatLimiter lim(60s, 2);
    RepeatLimiter::Time t0{};
    for (int i = 0; i < 3; ++i) CHECK(lim.admit(entry(LogLevel::info, "configuration reloaded"), t0).size() == 1);
    CHECK(lim.admit(entry(LogLevel::error, "a"), t0).size() == 1);
    CHECK(lim.admit(entry(LogLevel::error, "b"), t0).size() == 1);
    CHECK(lim.admit(entry(LogLevel::error, "c"), t0).size() == 1);
    CHECK(lim.admit(entry(LogLevel::error, "c"), t0).size() == 1); // beyond the bound: not tracked
    CHECK(lim.admit(entry(LogLevel::error, "a"), t0).empty());
}

TEST_CASE("the logger holds back repeats by its clock") {
    Pipe p;
    RepeatLimiter::Time now{};
    Logger l(std::make_shared<FdSink>(p.fd[1]), LogLevel::info, [&] { return now; });
    for (int i = 0; i < 5; ++i) {
        l.log(entry(LogLevel::error, "fetch failed"));
        now += 10s;
    }
    now += 30s;
    l.log(entry(LogLevel::error, "fetch failed"));
    std::string out = p.drain();
    CHECK(std::count(out.begin(), out.end(), '\n') == 3);
    CHECK(out.find(" error fetch failed (repeated 4 more times in 60 s)\n") != std::string::npos);
}

TEST_CASE("repeats still counted are told when fjordd stops (flush), once") {
    Pipe p;
    RepeatLimiter::Time now{};
    Logger l(std::make_shared<FdSink>(p.fd[1]), LogLevel::info, [&] { return now; });
    for (int i = 0; i < 4; ++i) {
        l.log(entry(LogLevel::error, "fetch failed"));
        now += 5s;
    }
    l.log(entry(LogLevel::warning, "registry slow"));
    l.flush();
    l.flush(); // nothing left to tell
    std::string out = p.drain();
    CHECK(std::count(out.begin(), out.end(), '\n') == 3);
    CHECK(out.find(" error fetch failed (repeated 3 more times in 60 s)\n") != std::string::npos);
    CHECK(out.find("registry slow (repeated") == std::string::npos);
}
