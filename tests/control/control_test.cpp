// The control protocol and the status file: what fjordctl and fjordd exchange, and what
// fjordctl reads when fjordd does not run.
#include "control/control.hpp"
#include "control/status.hpp"

#include "support/temp_dir.hpp"
#include "util/fs.hpp"
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <thread>

using namespace fjord;

TEST_CASE("status.json: what is written is read back, field by field") {
    test::TempDir dir;
    AgentStatus s;
    s.generation = 7;
    s.commit = "0123456789abcdef0123456789abcdef01234567";
    s.last_result = "applied";
    s.suspended = "pinned to generation 7";
    s.apply_seconds = 1.5;
    s.poll_errors["network"] = 3;
    s.commit_subject = "bad \xff utf-8"; // replaced, never a throw
    REQUIRE(write_file_atomic(dir.path + "/status.json", status_to_json(s), 0600));
    auto back = read_status(dir.path);
    REQUIRE(back);
    CHECK(back->generation == 7);
    CHECK(back->commit == s.commit);
    CHECK(back->last_result == "applied");
    CHECK(back->suspended == s.suspended);
    CHECK(back->apply_seconds == 1.5);
    CHECK(back->poll_errors.at("network") == 3);
    CHECK(back->commit_subject.rfind("bad ", 0) == 0);
}

TEST_CASE("status.json: a file whose content does not match its checksum is refused") {
    test::TempDir dir;
    AgentStatus s;
    s.synced_commit = "0123456789abcdef0123456789abcdef01234567";
    std::string text = status_to_json(s);
    text.replace(text.find("0123456789"), 1, "9");
    REQUIRE(write_file_atomic(dir.path + "/status.json", text, 0600));
    auto back = read_status(dir.path);
    REQUIRE_FALSE(back);
    CHECK(back.error().message.find("damaged") != std::string::npos);
    CHECK_FALSE(read_status(dir.path + "/none"));
}

TEST_CASE("control socket: a request, progress lines when asked for, then the reply") {
    test::TempDir dir;
    std::string path = dir.path + "/control.sock";
    auto listener = control_listen(path);
    REQUIRE(listener);
    std::thread server([&] {
        int fd = -1;
        for (int i = 0; i < 500 && fd < 0; ++i) { // the listener is non-blocking
            fd = ::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (fd < 0) return;
        unique_fd conn(fd);
        auto req = control_read(conn.get());
        if (!req) return control_reply(conn.get(), {{"ok", false}, {"message", req.error().message}});
        control_progress(conn.get(), "checking generation 5: checks 1/3 passing");
        control_reply(conn.get(), {{"ok", true}, {"echo", (*req)["cmd"]}});
    });
    std::vector<std::string> progress;
    auto r = control_call(path, {{"cmd", "sync"}, {"progress", true}}, 5000,
                          [&](const std::string &l) { progress.push_back(l); });
    server.join();
    REQUIRE(r);
    CHECK((*r)["ok"] == true);
    CHECK((*r)["echo"] == "sync");
    CHECK(progress == std::vector<std::string>{"checking generation 5: checks 1/3 passing"});
}

TEST_CASE("control socket: no daemon listening is Errc::not_found, said plainly") {
    test::TempDir dir;
    auto r = control_call(dir.path + "/control.sock", {{"cmd", "status"}}, 1000);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::not_found);
    CHECK(r.error().message.find("fjordd is not running") != std::string::npos);
}
