#pragma once
// Sets TZ for one test (a POSIX zone such as "IST-5:30" needs no zoneinfo file), then puts
// the old one back.
#include <cstdlib>
#include <ctime>
#include <string>

struct TzGuard {
    std::string old;
    bool had;
    explicit TzGuard(const char *tz) : had(std::getenv("TZ") != nullptr) {
        if (had) old = std::getenv("TZ");
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~TzGuard() {
        if (had) ::setenv("TZ", old.c_str(), 1);
        else ::unsetenv("TZ");
        ::tzset();
    }
};
