#pragma once
// The spdlog side of fjord's log (daemon/log.hpp): the plain sink for a terminal or a file, the
// journal sink that keeps MESSAGE_ID and the structured fields, and the Logger that puts an
// entry through the repeat limiter to its sink. Only log.cpp and the tests include it.
#include "daemon/log_limit.hpp"
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fjord {

/// The plain format: "2026-12-04T10:16:21.123+00:00 info message" (ISO 8601, local time with
/// its offset from UTC, then the level).
inline constexpr const char *plain_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %v";

/// Writes each formatted line to a descriptor with one write(2), so that lines of processes
/// sharing it (fjordd and the children it runs) never interleave.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    explicit FdSink(int fd) : fd_(fd) {}

  protected:
    void sink_it_(const spdlog::details::log_msg &msg) override;
    void flush_() override {}

  private:
    int fd_;
};

/// Sends one entry to the journal: "KEY=value" fields, as sd_journal_sendv takes them;
/// returns a negative errno on failure.
using JournalSend = std::function<int(const std::vector<std::string> &fields)>;

/// The journal sink: PRIORITY, MESSAGE, SYSLOG_IDENTIFIER, and MESSAGE_ID with the entry's own
/// fields (COMMIT=, GENERATION=, UNIT=...). spdlog's message carries only text, so Logger::log
/// hands the entry over in a thread_local for the length of its synchronous call (spdlog's
/// own systemd sink has no place for custom fields). When the journal refuses an entry, the
/// line goes to stderr instead.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    JournalSink(std::string identifier, JournalSend send);

  protected:
    void sink_it_(const spdlog::details::log_msg &msg) override;
    void flush_() override {}

  private:
    std::string identifier_;
    JournalSend send_;
};

/// The journal's sd_journal_sendv, behind JournalSend.
[[nodiscard]] JournalSend journal_sendv();

/// One logger: entries below its level are dropped, the rest pass the repeat limiter and go
/// to the sink. Thread-safe; synchronous (the journal sink relies on it).
class Logger {
  public:
    using Clock = std::function<RepeatLimiter::Time()>;
    Logger(spdlog::sink_ptr sink, LogLevel level, Clock now = [] { return RepeatLimiter::Time::clock::now(); });

    void log(LogEntry e);
    /// Logs the repeat summaries still held (RepeatLimiter::flush).
    void flush();
    void set_level(LogLevel level);
    void set_sink(spdlog::sink_ptr sink);

  private:
    void send(const std::vector<LogEntry> &entries); ///< mu_ held
    std::mutex mu_;
    std::shared_ptr<spdlog::logger> logger_;
    LogLevel level_;
    Clock now_;
    RepeatLimiter limiter_;
};

} // namespace fjord
