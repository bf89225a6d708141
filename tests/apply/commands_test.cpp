// validate and pre_restart with real commands (sh, run through util/command); systemd is a
// recording fake, since only the order of its calls matters here.
#include "apply/commands.hpp"
#include "apply/transaction.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <algorithm>
#include <sys/stat.h>

using namespace fjord;
using namespace fjord::test;

namespace {

struct RecordingSystemd : SystemdManager {
    std::vector<std::string> calls;
    Status reload_daemon() override { return rec("daemon-reload"); }
    Status enable(const std::vector<std::string> &u) override { return rec("enable " + u.front()); }
    Status disable(const std::vector<std::string> &u) override { return rec("disable " + u.front()); }
    Status start(const std::string &u) override { return rec("start " + u); }
    Status stop(const std::string &u) override { return rec("stop " + u); }
    Status restart(const std::string &u) override { return rec("restart " + u); }
    Status reload(const std::string &u) override { return rec("reload " + u); }
    Result<UnitState> state(const std::string &) override { return UnitState{"loaded", "active", "running", "success", ""}; }
    Status rec(std::string c) {
        calls.push_back(std::move(c));
        return {};
    }
};

struct Host : ApplyHost {
    RecordingSystemd sd;

    /// A file as the repo gives it: with its origin, for the messages that name it.
    FileSpec spec(const std::string &path, const std::string &content) {
        FileSpec s = ApplyHost::spec(path, content);
        s.origin = "hosts/h/files" + path;
        return s;
    }
    ValidateContext vctx(std::function<Result<std::string>(std::string_view, const std::string &)> dec = {}) {
        return ValidateContext{[this](const std::string &id, std::uint64_t max) { return stored_content(store, &blobs, id, max); },
                               state.path + "/s/validate", 1 << 20, std::move(dec), root.path};
    }
};

} // namespace

TEST_CASE("validate runs on a staged copy; a failure names the file, the command and its output") {
    Host h;
    auto good = h.spec("/etc/sudoers.d/ops", "ops ALL=(ALL) ALL\n");
    good.validate = {"sh", "-c", "grep -q ALL \"$1\" && test \"$FJORD_PATH\" = /etc/sudoers.d/ops && test \"${1##*/}\" = ops", "sh", "%s"};
    auto p = h.plan(state_of({good}));
    REQUIRE(p);
    CHECK(validate_files(h.vctx(), *p, state_of({good})));
    auto bad = h.spec("/etc/sudoers.d/ops", "ops ALL=(ALL\n");
    bad.validate = {"sh", "-c", "echo \"$1:1: syntax error\"; echo second line; exit 1", "sh", "%s"};
    auto p2 = h.plan(state_of({bad}));
    auto s = validate_files(h.vctx(), *p2, state_of({bad}));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::invalid);
    std::string staged = h.state.path + "/s/validate/1/ops";
    CHECK(s.error().message == "validate /etc/sudoers.d/ops (hosts/h/files/etc/sudoers.d/ops): sh -c 'echo \"$1:1: syntax error\"; "
                               "echo second line; exit 1' sh %s: exit status 1: " + staged + ":1: syntax error | second line");
    // The staging folder is gone, and the host was never touched.
    CHECK_FALSE(std::filesystem::exists(h.state.path + "/s/validate"));
    CHECK(snapshot(h.root.path).empty());
}

TEST_CASE("validate: only files the plan writes; an unchanged file is not validated again") {
    Host h;
    auto f = h.spec("/etc/a", "x");
    REQUIRE(h.apply(state_of({f})));
    f.validate = {"false", "%s"};
    auto p = h.plan(state_of({f}));
    REQUIRE(p);
    CHECK(validate_files(h.vctx(), *p, state_of({f}))); // same content and mode: no write, no run
    auto g = h.spec("/etc/a", "y");
    g.validate = f.validate;
    auto p2 = h.plan(state_of({g}));
    CHECK_FALSE(validate_files(h.vctx(), *p2, state_of({g})));
}

TEST_CASE("validate a secret: decrypted into a 0700 folder, removed after, its output never shown") {
    Host h;
    auto f = h.spec("/etc/app/db.env", "ciphertext");
    f.secret = true;
    auto dec = [](std::string_view c, const std::string &) -> Result<std::string> { return c == "ciphertext" ? std::string("PASSWORD=hunter2\n") : std::string(); };
    // The validator sees the plaintext in a private folder, and echoes it (as some do). The
    // staged name is a link to fjordd's memory: no plaintext is ever on a disk.
    f.validate = {"sh", "-c", "cat \"$1\"; test \"$(stat -c %a \"${1%/*/*}\")\" = 700 && test -L \"$1\" && "
                  "readlink \"$1\" | grep -q '^/proc/[0-9]*/fd/' && grep -q hunter2 \"$1\" && ! grep -rq hunter2 \"${1%/*/*}\"", "sh", "%s"};
    auto p = h.plan(state_of({f}));
    CHECK(validate_files(h.vctx(dec), *p, state_of({f})));
    f.validate = {"sh", "-c", "cat \"$1\"; exit 2", "sh", "%s"};
    p = h.plan(state_of({f}));
    REQUIRE(p);
    auto s = validate_files(h.vctx(dec), *p, state_of({f}));
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("hunter2") == std::string::npos);
    CHECK(s.error().message.find("exit status 2 (output not shown: the file is a secret)") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(h.state.path + "/s/validate"));
}

TEST_CASE("pre_restart runs after the files land and before the restart; a failure rolls back") {
    Host h;
    h.ctx.systemd = &h.sd;
    auto conf = h.spec("/etc/web/web.conf", "v1\n");
    DesiredState d1 = state_of({conf});
    UnitSpec u;
    u.name = "web.service";
    u.watch = {"/etc/web/*"};
    // The check reads the new file from the host, as nginx -t reads /etc/nginx.
    u.pre_restart = {"sh", "-c", "grep -q v \"$FJORD_ROOT/etc/web/web.conf\" && test \"$FJORD_UNIT\" = web.service"};
    d1.units.emplace(u.name, u);
    REQUIRE(h.apply(d1));
    CHECK(h.sd.calls == std::vector<std::string>{"enable web.service", "start web.service"});
    h.sd.calls.clear();

    DesiredState d2 = state_of({h.spec("/etc/web/web.conf", "broken\n")});
    d2.units.emplace(u.name, u);
    auto r = h.apply(d2);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    CHECK(r.error().message.rfind("pre_restart of web.service failed before its restart: sh -c", 0) == 0);
    CHECK(r.error().message.find(": exit status 1") != std::string::npos);
    // Never restarted: the running daemon kept its old config, and the file came back.
    CHECK(std::find(h.sd.calls.begin(), h.sd.calls.end(), "restart web.service") == h.sd.calls.end());
    CHECK(slurp(h.root.path + "/etc/web/web.conf") == "v1\n");
    CHECK(h.store.load_info(2)->outcome == Outcome::rolled_back);
    CHECK(*h.store.current() == 1);

    DesiredState d3 = state_of({h.spec("/etc/web/web.conf", "v2\n")});
    d3.units.emplace(u.name, u);
    h.sd.calls.clear();
    REQUIRE(h.apply(d3));
    CHECK(h.sd.calls == std::vector<std::string>{"restart web.service"});
}

TEST_CASE("pre_restart does not run for a stop") {
    Generation next;
    UnitSpec u;
    u.name = "a.service";
    u.pre_restart = {"false"};
    next.units.emplace(u.name, u);
    CHECK(run_pre_restart(next, {{UnitStep::stop, "a.service"}, {UnitStep::enable, "a.service"}}, "/"));
    CHECK_FALSE(run_pre_restart(next, {{UnitStep::reload, "a.service"}}, "/"));
}
