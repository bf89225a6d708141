// fjordctl events: the journal read with sd-journal, the one place fjordctl uses libsystemd
// (docs/ARCHITECTURE.md: fjordctl reads the journal; it never drives systemd).
#include "cli/events_cmd.hpp"

#include "cli/tty.hpp"
#include "control/events.hpp"
#include "util/parse.hpp"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <systemd/sd-journal.h>

namespace fjord {
namespace {

struct JournalDeleter {
    void operator()(sd_journal *j) const { sd_journal_close(j); }
};
using journal_ptr = std::unique_ptr<sd_journal, JournalDeleter>;

constexpr std::int64_t usec = 1'000'000;

// Fields that are the journal's or the line's own, not fjord's: left out of `fields`.
bool own_field(const std::string &k) {
    static const char *const skip[] = {"MESSAGE", "MESSAGE_ID", "PRIORITY", "COMMIT", "GENERATION"};
    if (k.empty() || k[0] == '_' || k.rfind("SYSLOG_", 0) == 0 || k.rfind("CODE_", 0) == 0) return true;
    for (const char *s : skip)
        if (k == s) return true;
    return false;
}

// Local midnight of the day `days` from today's.
std::int64_t local_midnight(std::int64_t now_s, int days) {
    time_t t = static_cast<time_t>(now_s);
    std::tm tm{};
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday += days;
    tm.tm_isdst = -1;
    return static_cast<std::int64_t>(std::mktime(&tm));
}

// "2026-12-04", "2026-12-04 10:00", "2026-12-04T10:00:00+01:00", "...Z": seconds since the epoch.
Result<std::int64_t> parse_date(const std::string &s) {
    static const std::regex re(R"((\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|[+-]\d{2}:?\d{2})?)");
    std::smatch m;
    if (!std::regex_match(s, m, re)) return fail(Errc::invalid, "");
    auto n = [&](int i) { return m[i].matched ? std::stoi(m[i].str()) : 0; };
    std::tm tm{};
    tm.tm_year = n(1) - 1900;
    tm.tm_mon = n(2) - 1;
    tm.tm_mday = n(3);
    tm.tm_hour = n(4);
    tm.tm_min = n(5);
    tm.tm_sec = n(6);
    tm.tm_isdst = -1;
    const std::tm asked = tm;
    std::int64_t t;
    if (m[7].matched) {
        std::string z = m[7].str();
        int off = 0;
        if (z != "Z") {
            std::string d = z.substr(1);
            d.erase(std::remove(d.begin(), d.end(), ':'), d.end());
            off = (std::stoi(d.substr(0, 2)) * 60 + std::stoi(d.substr(2))) * 60 * (z[0] == '-' ? -1 : 1);
        }
        t = static_cast<std::int64_t>(timegm(&tm)) - off;
    } else {
        t = static_cast<std::int64_t>(std::mktime(&tm));
    }
    // mktime and timegm carry 2026-02-30 into March: a date that does not exist is refused.
    if (tm.tm_year != asked.tm_year || tm.tm_mon != asked.tm_mon || tm.tm_mday != asked.tm_mday || asked.tm_hour > 23 ||
        asked.tm_min > 59 || asked.tm_sec > 60)
        return fail(Errc::invalid, "no such date or time");
    return t;
}

std::string journal_error(const char *what, int r) { return std::string(what) + ": " + std::strerror(-r); }

// The entry the journal's cursor is on, as "KEY=value" fields.
std::map<std::string, std::string> entry_fields(sd_journal *j) {
    std::map<std::string, std::string> f;
    const void *data;
    size_t len;
    SD_JOURNAL_FOREACH_DATA(j, data, len) {
        std::string_view kv(static_cast<const char *>(data), len);
        auto eq = kv.find('=');
        if (eq != std::string_view::npos) f.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    return f;
}

} // namespace

Result<JournalEvent> event_from_fields(const std::map<std::string, std::string> &fields, std::int64_t time_us) {
    auto get = [&](const char *k) -> std::string {
        auto it = fields.find(k);
        return it == fields.end() ? "" : it->second;
    };
    JournalEvent e;
    e.id = get("MESSAGE_ID");
    const char *name = event_name(e.id);
    if (!name) return fail(Errc::not_found, "not one of fjord's events");
    e.name = name;
    e.time_us = time_us;
    e.message = get("MESSAGE");
    e.commit = get("COMMIT");
    if (auto g = parse_uint(get("GENERATION"), 1, UINT64_MAX)) e.generation = *g;
    if (auto p = parse_uint(get("PRIORITY"), 0, 7)) e.priority = static_cast<int>(*p);
    for (const auto &[k, v] : fields)
        if (!own_field(k)) e.fields.emplace(k, v);
    return e;
}

Result<std::int64_t> parse_since(std::string_view in, std::int64_t now_us) {
    std::string s(in);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);
    auto bad = [&](const std::string &why) {
        return fail(Errc::invalid, "--since \"" + std::string(in) + "\": " + why +
                                       " (use e.g. \"2026-12-04 10:00\", \"1h ago\", \"-30m\", \"@EPOCH\", \"today\")");
    };
    const std::int64_t now_s = now_us / usec;
    if (s == "now") return now_us;
    if (s == "today") return local_midnight(now_s, 0) * usec;
    if (s == "yesterday") return local_midnight(now_s, -1) * usec;
    if (!s.empty() && s[0] == '@') {
        auto n = parse_uint(std::string_view(s).substr(1), 0, INT64_MAX / usec);
        if (!n) return bad("epoch seconds: " + n.error().message);
        return static_cast<std::int64_t>(*n) * usec;
    }
    std::string rel;
    if (!s.empty() && s[0] == '-') rel = s.substr(1);
    else if (s.size() > 4 && s.compare(s.size() - 4, 4, " ago") == 0) rel = s.substr(0, s.size() - 4);
    if (!s.empty() && (s[0] == '-' || !rel.empty())) {
        rel.erase(std::remove(rel.begin(), rel.end(), ' '), rel.end()); // "1 h ago"
        auto d = parse_duration(rel);
        if (!d) return bad("not a duration");
        return now_us - std::chrono::duration_cast<std::chrono::microseconds>(*d).count();
    }
    auto t = parse_date(s);
    if (!t) return bad(t.error().message.empty() ? "not a time" : t.error().message);
    return *t * usec;
}

std::string format_event(const JournalEvent &e) {
    char head[96];
    std::string gen = e.generation ? std::to_string(e.generation) : "-";
    std::string commit = e.commit.empty() ? "-" : e.commit.substr(0, 12);
    std::snprintf(head, sizeof head, "%s %-14s %-5s %-12s ", format_time(e.time_us / usec).c_str(), e.name.c_str(), gen.c_str(),
                  commit.c_str());
    return head + tty(e.message);
}

std::string event_json(const JournalEvent &e) {
    nlohmann::json j{{"time", e.time_us / usec}, {"time_us", e.time_us},  {"event", e.name},
                     {"message_id", e.id},        {"priority", e.priority}, {"message", e.message},
                     {"fields", e.fields}};
    j["generation"] = e.generation ? nlohmann::json(e.generation) : nlohmann::json(nullptr);
    j["commit"] = e.commit.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.commit);
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int run_events(bool follow, const std::string &since, bool json) {
    std::optional<std::int64_t> since_us;
    if (!since.empty()) {
        auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
        auto s = parse_since(since, now.count());
        if (!s) {
            std::fprintf(stderr, "fjordctl: events: %s\n", tty(s.error().message).c_str());
            return 2;
        }
        since_us = *s;
    }
    sd_journal *raw = nullptr;
    if (int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY); r < 0) {
        std::fprintf(stderr, "fjordctl: events: %s\n", journal_error("cannot open the journal", r).c_str());
        return 1;
    }
    journal_ptr j(raw);
    // Matches on one field are OR'ed: every entry carrying one of fjord's MESSAGE_IDs.
    for (const auto &k : event_kinds)
        if (int r = sd_journal_add_match(j.get(), ("MESSAGE_ID=" + std::string(k.id)).c_str(), 0); r < 0) {
            std::fprintf(stderr, "fjordctl: events: %s\n", journal_error("journal match", r).c_str());
            return 1;
        }
    // ... and written by root: _UID is a trusted field, set by journald, so a user who logs an
    // entry with fjord's MESSAGE_ID (logger --journald) cannot make it look like fjord's event.
    if (int r = sd_journal_add_conjunction(j.get()); r < 0 || (r = sd_journal_add_match(j.get(), "_UID=0", 0)) < 0) {
        std::fprintf(stderr, "fjordctl: events: %s\n", journal_error("journal match", r).c_str());
        return 1;
    }
    if (sd_journal_has_runtime_files(j.get()) <= 0 && sd_journal_has_persistent_files(j.get()) <= 0) {
        std::fprintf(stderr, "fjordctl: events: no journal files could be opened (not root, nor in group systemd-journal or adm?)\n");
        return 1;
    }
    // Where to start: --since; with --follow alone, the last 10 events (as journalctl -f).
    if (since_us) {
        sd_journal_seek_realtime_usec(j.get(), static_cast<std::uint64_t>(*since_us));
    }
    auto print = [&] {
        std::uint64_t t = 0;
        sd_journal_get_realtime_usec(j.get(), &t);
        auto e = event_from_fields(entry_fields(j.get()), static_cast<std::int64_t>(t));
        if (e) std::printf("%s\n", (json ? event_json(*e) : format_event(*e)).c_str());
    };
    if (!since_us && follow) {
        sd_journal_seek_tail(j.get());
        if (sd_journal_previous_skip(j.get(), 10) > 0) print(); // on the 10th-last (or the first) event
    } else if (!since_us) {
        sd_journal_seek_head(j.get());
    }
    for (;;) {
        int r;
        while ((r = sd_journal_next(j.get())) > 0) print();
        if (r < 0) {
            std::fprintf(stderr, "fjordctl: events: %s\n", journal_error("reading the journal", r).c_str());
            return 1;
        }
        if (!follow) return 0;
        std::fflush(stdout);
        if (std::ferror(stdout)) return 1; // a closed pipe: nobody reads any more
        if (int w = sd_journal_wait(j.get(), UINT64_MAX); w < 0) {
            std::fprintf(stderr, "fjordctl: events: %s\n", journal_error("waiting for the journal", w).c_str());
            return 1;
        }
    }
}

} // namespace fjord
