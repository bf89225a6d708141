#include "daemon/log.hpp"

#include "daemon/log_sinks.hpp"
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {
namespace {

// stderr is the journal when JOURNAL_STREAM names its device and inode (systemd.exec(5)).
bool stderr_is_journal() {
    const char *js = std::getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st;
    return ::fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

spdlog::sink_ptr chosen_sink() {
    if (stderr_is_journal()) return std::make_shared<JournalSink>("fjordd", journal_sendv());
    return std::make_shared<FdSink>(2);
}

// fjordd's one logger, made at the first log_init or log line (plain, info, until log_init).
Logger &the_logger() {
    static Logger l(chosen_sink(), LogLevel::info);
    return l;
}

} // namespace

void log_init(LogLevel level) {
    Logger &l = the_logger();
    l.set_sink(chosen_sink());
    l.set_level(level);
}

void log_flush() { the_logger().flush(); }

void log_msg(LogLevel level, const char *id, std::string_view message, LogFields fields) {
    log_msg(level, id, message, LogFieldList(fields.begin(), fields.end()));
}

void log_msg(LogLevel level, const char *id, std::string_view message, const LogFieldList &fields) {
    LogEntry e{level, id ? id : "", std::string(message), {}};
    e.fields.reserve(fields.size());
    for (const auto &[k, v] : fields) e.fields.emplace_back(k, v);
    the_logger().log(std::move(e));
}

} // namespace fjord
