// lock_file: a second taker is told who holds the lock (issue 19: "another fjord process holds
// the lock" named no process).
#include "util/fs.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <string>
#include <unistd.h>

using namespace fjord;

TEST_CASE("lock_file: busy names the PID and program that hold it") {
    char tmpl[] = "/tmp/fjord-lock-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    std::string path = std::string(tmpl) + "/lock";
    auto first = lock_file(path);
    REQUIRE(first);
    // flock locks belong to the open file description: a second open in this process conflicts.
    auto second = lock_file(path);
    REQUIRE(!second);
    CHECK(second.error().code == Errc::busy);
    CHECK(second.error().message == path + ": another fjord process (PID " + std::to_string(::getpid()) + ", test_util) holds the lock");
    first->reset();
    CHECK(lock_file(path));
    ::unlink(path.c_str());
    ::rmdir(tmpl);
}
