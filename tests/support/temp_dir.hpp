#pragma once
// A temp folder for a test, removed with everything in it when the test ends. The one every
// unit test uses: a test that needs a folder of its own makes one of these.
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace fjord::test {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/fjord-test-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::system_error(errno, std::generic_category(), "mkdtemp /tmp/fjord-test-XXXXXX");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
};

} // namespace fjord::test
