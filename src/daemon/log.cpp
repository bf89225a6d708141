#include "daemon/log.hpp"

#include <cstdio>
#include <unistd.h>
#include <cstdlib>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <vector>

namespace fjord {
namespace {

LogLevel min_level = LogLevel::info;
bool to_journal = false;

// stderr is the journal when JOURNAL_STREAM names its device and inode (systemd.exec(5)).
bool stderr_is_journal() {
    const char *js = std::getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st;
    return ::fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int priority(LogLevel l) {
    switch (l) {
    case LogLevel::debug: return 7;
    case LogLevel::info: return 6;
    case LogLevel::warning: return 4;
    case LogLevel::error: return 3;
    }
    return 6;
}

} // namespace

void log_init(LogLevel level) {
    min_level = level;
    to_journal = stderr_is_journal();
}

void log_msg(LogLevel level, const char *id, std::string_view message, LogFields fields) {
    log_msg(level, id, message, LogFieldList(fields.begin(), fields.end()));
}

void log_msg(LogLevel level, const char *id, std::string_view message, const LogFieldList &fields) {
    if (static_cast<int>(level) < static_cast<int>(min_level)) return;
    if (to_journal) {
        std::vector<std::string> parts;
        parts.push_back("MESSAGE=" + std::string(message));
        parts.push_back("PRIORITY=" + std::to_string(priority(level)));
        parts.push_back("SYSLOG_IDENTIFIER=fjordd");
        if (id) parts.push_back(std::string("MESSAGE_ID=") + id);
        for (const auto &[k, v] : fields) parts.push_back(std::string(k) + "=" + v);
        std::vector<struct iovec> iov;
        for (auto &p : parts) iov.push_back({p.data(), p.size()});
        if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
    }
    // One write per line, so lines of concurrent writers never interleave.
    std::string line = "fjordd: ";
    line.append(message);
    line += '\n';
    (void)!::write(2, line.data(), line.size());
}

} // namespace fjord
