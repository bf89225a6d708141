#pragma once
// A temp folder for a test, removed with everything in it when the test ends.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fjord::test {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/fjord-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
};

} // namespace fjord::test
