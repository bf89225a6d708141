#include "daemon/log_sinks.hpp"

#include <systemd/sd-journal.h>
#include <sys/uio.h>
#include <unistd.h>

namespace fjord {
namespace {

// The entry Logger::log is sending on this thread, for JournalSink (see its comment).
thread_local const LogEntry *current_entry = nullptr;

spdlog::level::level_enum spd_level(LogLevel l) {
    switch (l) {
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warning: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

// syslog(3) priorities, as the journal's PRIORITY= field takes them.
int priority(spdlog::level::level_enum l) {
    switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
    }
}

} // namespace

void FdSink::sink_it_(const spdlog::details::log_msg &msg) {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    (void)!::write(fd_, line.data(), line.size());
}

JournalSink::JournalSink(std::string identifier, JournalSend send) : identifier_(std::move(identifier)), send_(std::move(send)) {}

void JournalSink::sink_it_(const spdlog::details::log_msg &msg) {
    std::vector<std::string> f;
    f.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
    f.push_back("PRIORITY=" + std::to_string(priority(msg.level)));
    f.push_back("SYSLOG_IDENTIFIER=" + identifier_);
    if (const LogEntry *e = current_entry) {
        if (!e->id.empty()) f.push_back("MESSAGE_ID=" + e->id);
        for (const auto &[k, v] : e->fields) f.push_back(k + "=" + v);
    }
    if (send_(f) >= 0) return;
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    (void)!::write(2, line.data(), line.size());
}

JournalSend journal_sendv() {
    return [](const std::vector<std::string> &fields) {
        std::vector<struct iovec> iov;
        iov.reserve(fields.size());
        for (const auto &s : fields) iov.push_back({const_cast<char *>(s.data()), s.size()});
        return sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    };
}

Logger::Logger(spdlog::sink_ptr sink, LogLevel level, Clock now)
    : logger_(std::make_shared<spdlog::logger>("fjord", std::move(sink))), level_(level), now_(std::move(now)) {
    logger_->set_pattern(plain_pattern);
    logger_->set_level(spdlog::level::trace); // level_ decides, before the limiter counts
}

void Logger::set_level(LogLevel level) {
    std::lock_guard lk(mu_);
    level_ = level;
}

void Logger::set_sink(spdlog::sink_ptr sink) {
    std::lock_guard lk(mu_);
    sink->set_pattern(plain_pattern);
    logger_->sinks().assign(1, std::move(sink));
}

void Logger::log(LogEntry e) {
    std::lock_guard lk(mu_);
    if (static_cast<int>(e.level) < static_cast<int>(level_)) return;
    send(limiter_.admit(std::move(e), now_()));
}

void Logger::flush() {
    std::lock_guard lk(mu_);
    send(limiter_.flush());
}

void Logger::send(const std::vector<LogEntry> &entries) {
    for (const LogEntry &out : entries) {
        current_entry = &out;
        // spdlog catches what a sink throws and reports it on stderr: nothing reaches the caller.
        logger_->log(spd_level(out.level), spdlog::string_view_t(out.text)); // text, never a format string
        current_entry = nullptr;
    }
}

} // namespace fjord
