#include "daemon/hooks.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <sstream>

using namespace fjord;

namespace {
std::string slurp(const std::string &p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}
} // namespace

TEST_CASE("hooks of one kind run in order with FJORD_* in a clean environment; the first failure stops them") {
    test::TempDir dir;
    std::string out = dir.path + "/env";
    std::vector<HookSpec> hooks = {
        {"post-apply", {"sh", "-c", "echo one >>" + out}, 5'000},
        {"pre-apply", {"sh", "-c", "echo pre >>" + out}, 5'000},
        {"post-apply", {"sh", "-c", "env | sort >>" + out}, 5'000},
    };
    HookEnv env{"c0ffee", "beef", 7, "applied", "/srv/root"};
    REQUIRE(run_hooks(hooks, "post-apply", env));
    CHECK(slurp(out) == "one\nFJORD_COMMIT=c0ffee\nFJORD_GENERATION=7\nFJORD_PREVIOUS_COMMIT=beef\nFJORD_RESULT=applied\n"
                        "FJORD_ROOT=/srv/root\nLANG=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\nPWD=/\n");

    hooks = {{"pre-apply", {"sh", "-c", "echo no; exit 4"}, 5'000}, {"pre-apply", {"sh", "-c", "echo ran >>" + out}, 5'000}};
    auto s = run_hooks(hooks, "pre-apply", env);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::refused); // a gate: tried again at the next poll
    CHECK(s.error().message == "hook pre-apply [1] sh -c 'echo no; exit 4': exit status 4: no");
    CHECK(slurp(out).find("ran") == std::string::npos);

    hooks = {{"post-rollback", {"sh", "-c", "sleep 30 & sleep 30"}, 200}};
    auto t = run_hooks(hooks, "post-rollback", env);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == Errc::invalid);
    CHECK(t.error().message == "hook post-rollback [1] sh -c 'sleep 30 & sleep 30': timed out after 200 ms");
}
