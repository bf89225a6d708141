#include "cli/status_cmd.hpp"

#include "apply/store.hpp"
#include "cli/check_cmd.hpp"
#include "cli/tty.hpp"
#include "config/own_paths.hpp"
#include "control/control.hpp"
#include "control/report.hpp"
#include "control/status.hpp"
#include "util/parse.hpp"
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sys/ioctl.h>
#include <unistd.h>

namespace fjord {
namespace {

std::string short_id(const std::string &c) { return c.empty() ? "-" : c.substr(0, 12); }

// One line a field: a long commit subject or error is cut, so status stays a screen's worth.
std::string cut(const std::string &s, std::size_t n) { return s.size() <= n ? s : s.substr(0, n - 3) + "..."; }

std::string tty_field(const nlohmann::json &j, const char *key) { return tty(j.value(key, "")); }

// A generation's changes as numbers; null when not known (generations from before it was kept).
nlohmann::json changes_json(const std::string &summary) {
    auto c = parse_change_summary(summary);
    if (!c) return nullptr;
    return {{"added", c->added}, {"changed", c->changed}, {"removed", c->removed}, {"units", c->units}};
}

std::string source_line(const Config &cfg) {
    const auto &s = cfg.source;
    if (s.url.empty()) return "not set (source.url in " + cfg.file + ")";
    return s.url + " (" + (s.tag.empty() ? "branch " + s.branch : "tag " + s.tag) + ", path " + s.path + ")";
}

} // namespace

std::optional<ChangeCounts> parse_change_summary(std::string_view s) {
    // The daemon writes it (daemon/progress.cpp change_summary): "+A ~C -R, U unit" or "units".
    std::string str(s);
    unsigned long long a = 0, c = 0, r = 0, u = 0;
    int end = -1;
    if (std::sscanf(str.c_str(), "+%llu ~%llu -%llu, %llu unit%n", &a, &c, &r, &u, &end) != 4 || end < 0) return std::nullopt;
    std::string_view rest = s.substr(static_cast<std::size_t>(end));
    if (!rest.empty() && rest != "s") return std::nullopt;
    return ChangeCounts{a, c, r, u};
}

std::string relative_time(std::int64_t t, std::int64_t now) {
    if (t <= 0) return "never";
    std::int64_t d = now - t;
    bool future = d < 0;
    if (future) d = -d;
    if (d < 2) return future ? "now" : "just now";
    std::string n = d < 60 ? std::to_string(d) + "s" : d < 3600 ? std::to_string(d / 60) + "m" : d < 86400 ? std::to_string(d / 3600) + "h"
                                                                                              : std::to_string(d / 86400) + "d";
    return future ? "in " + n : n + " ago";
}

void ProgressLine::show(const std::string &line) {
    std::printf("\r\033[K%s", tty(line).c_str());
    std::fflush(stdout);
    shown_ = true;
}

void ProgressLine::clear() {
    if (shown_) std::printf("\r\033[K");
    std::fflush(stdout);
    shown_ = false;
}

int run_status(const Config &cfg, bool json) {
    auto r = control_call(control_socket_path(cfg), {{"cmd", "status"}}, 10'000);
    // Not allowed to ask is not "not running": fjordd may well be (a user who is not root).
    if (!r && r.error().code == Errc::refused) {
        std::fprintf(stderr, "fjordctl: %s\n", tty(r.error().message).c_str());
        return 1;
    }
    // fjordd answered, but refused (its peer-credential check: "uid 65534 is not allowed").
    if (r && r->is_object() && !r->value("ok", true)) {
        std::fprintf(stderr, "fjordctl: %s\n", tty(r->value("message", "fjordd refused the request")).c_str());
        return 1;
    }
    nlohmann::json j;
    bool running = r.has_value();
    if (running) {
        j = *r;
    } else {
        auto s = read_status(cfg.state.dir);
        j = s ? nlohmann::json::parse(status_to_json(*s)) : nlohmann::json{{"generation", 0}};
        j["running"] = false;
    }
    j["source"] = {{"url", cfg.source.url}, {"branch", cfg.source.tag.empty() ? cfg.source.branch : ""},
                   {"tag", cfg.source.tag}, {"path", cfg.source.path}};
    add_prereq_status(cfg, j);
    int code = status_exit_code(running, j.value("last_result", ""), j.value("suspended", ""), j.value("attempted_outcome", ""));
    if (json) {
        j.erase("ok");
        std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return code;
    }
    std::int64_t now = std::time(nullptr);
    auto i64 = [&](const char *k) { return j.value(k, std::int64_t{0}); };
    std::string commit = short_id(j.value("commit", ""));
    if (!j.value("commit_subject", "").empty()) commit += " \"" + cut(tty_field(j, "commit_subject"), 50) + "\"";
    if (i64("commit_time") > 0) commit += " (" + relative_time(i64("commit_time"), now) + ")";
    std::printf("fjordd:      %s\n", running ? "running" : "not running (systemctl start fjord)");
    std::printf("source:      %s\n", source_line(cfg).c_str());
    std::printf("commit:      %s\n", commit.c_str());
    // How far Git is ahead: the remote's head at the last poll, and the last commit judged.
    if (std::string head = j.value("remote_head", ""); !head.empty())
        std::printf("remote head: %s%s\n", short_id(head).c_str(), head == j.value("commit", "") ? " (applied)" : "");
    if (std::string att = j.value("attempted_commit", ""); !att.empty()) {
        std::string line = short_id(att) + " " + j.value("attempted_outcome", "") + " (" + relative_time(i64("attempted_time"), now) + ")";
        if (auto g = j.value("attempted_generation", 0ull)) line += ", generation " + std::to_string(g);
        std::printf("attempted:   %s\n", tty(line).c_str());
        // The first line of the reason; `fjordctl show` has the whole of it.
        std::string why = j.value("attempted_reason", "");
        if (!why.empty()) {
            auto nl = why.find('\n');
            std::printf("reason:      %s%s\n", tty(why.substr(0, nl)).c_str(),
                        nl == std::string::npos ? "" : (" (more: fjordctl show " + att.substr(0, 12) + ")").c_str());
        }
    }
    std::printf("generation:  %llu (%zu paths)\n", static_cast<unsigned long long>(j.value("generation", 0ull)),
                j.value("managed", std::size_t{0}));
    std::printf("last sync:   %s, %s (%s)\n", j.value("last_result", "-").c_str(), relative_time(i64("last_sync"), now).c_str(),
                format_time(i64("last_sync")).c_str());
    if (!j.value("last_error", "").empty()) std::printf("last error:  %s\n", tty_field(j, "last_error").c_str());
    if (running) std::printf("next poll:   %s\n", relative_time(i64("next_poll"), now).c_str());
    std::printf("applying:    %s\n", j.value("suspended", "").empty() ? "active" : ("paused: " + tty_field(j, "suspended")).c_str());
    // fleet.toml's waves: this host's wave, and why the newest commit is held back here.
    if (!j.value("wave", "").empty()) std::printf("wave:        %s\n", tty_field(j, "wave").c_str());
    if (!j.value("rollout", "").empty())
        std::printf("rollout:     %s (commit %s; fjordctl sync --skip-waves applies it now)\n", tty_field(j, "rollout_reason").c_str(),
                    short_id(j.value("rollout_commit", "")).c_str());
    std::printf("drift:       %zu drifted (last pass %s), %llu corrected in all\n", j.value("drifted", std::size_t{0}),
                relative_time(i64("last_drift"), now).c_str(), static_cast<unsigned long long>(j.value("drift_corrections_total", 0ull)));
    if (!j.value("last_image_update", "").empty() || i64("last_registry_check") > 0)
        std::printf("images:      %s (registries checked %s)\n",
                    j.value("last_image_update", "").empty() ? "no update yet" : tty_field(j, "last_image_update").c_str(),
                    relative_time(i64("last_registry_check"), now).c_str());
    if (!j.value("registry_error", "").empty()) std::printf("registry:    %s\n", tty_field(j, "registry_error").c_str());
    print_prereq_status(j);
    if (!j.value("note", "").empty()) std::printf("note:        %s\n", tty_field(j, "note").c_str());
    return code;
}

int status_exit_code(bool running, std::string_view last_result, std::string_view suspended, std::string_view attempted_outcome) {
    if (!running) return 3;
    auto bad = [](std::string_view o) { return o == "failed" || o == "refused" || o == "rolled-back"; };
    return bad(last_result) || bad(attempted_outcome) || !suspended.empty() ? 1 : 0;
}

std::string fit(std::string_view note, std::size_t room) {
    if (room == 0) return std::string(note);
    // Count code points: a continuation byte (10xxxxxx) starts none.
    auto points = [](std::string_view s) {
        return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
    };
    if (points(note) <= room) return std::string(note);
    std::size_t keep = room > 3 ? room - 3 : 0, seen = 0, i = 0;
    for (; i < note.size(); ++i) {
        if ((static_cast<unsigned char>(note[i]) & 0xC0) != 0x80 && seen++ == keep) break;
    }
    return std::string(note.substr(0, i)) + std::string("...").substr(0, room - keep);
}

std::string salvage_state_dir(std::string_view text) {
    std::string table, dir;
    auto trim = [](std::string_view v) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
        return v;
    };
    for (std::size_t i = 0; i <= text.size();) {
        std::size_t nl = std::min(text.find('\n', i), text.size());
        std::string_view line = trim(text.substr(i, nl - i));
        i = nl + 1;
        if (line.starts_with("[")) {
            auto end = line.find(']');
            table = std::string(trim(line.substr(1, end == std::string_view::npos ? 0 : end - 1)));
            continue;
        }
        if (table != "state" || !line.starts_with("dir")) continue;
        std::string_view rest = trim(line.substr(3));
        if (!rest.starts_with("=")) continue;
        rest = trim(rest.substr(1));
        // A basic or literal string without escapes, as the packaged config writes it.
        if (rest.size() < 2 || (rest[0] != '"' && rest[0] != '\'')) continue;
        auto close = rest.find(rest[0], 1);
        if (close == std::string_view::npos) continue;
        std::string_view v = rest.substr(1, close - 1);
        if (v.starts_with("/") && v.find('\\') == std::string_view::npos) dir = std::string(v);
    }
    return dir;
}

std::size_t terminal_width() {
    if (!::isatty(STDOUT_FILENO)) return 0;
    if (const char *c = std::getenv("COLUMNS"); c && *c)
        if (auto n = parse_uint(c, 1, 100000)) return static_cast<std::size_t>(*n);
    struct winsize w {};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
    return 80;
}

int run_history(const Config &cfg, bool json) {
    auto store = Store::open_existing(cfg.state.dir);
    if (!store) {
        std::fprintf(stderr, "fjordctl: %s\n", store.error().message.c_str());
        return 1;
    }
    auto hist = store->history();
    if (!hist) {
        std::fprintf(stderr, "fjordctl: %s\n", hist.error().message.c_str());
        return 1;
    }
    // Commits judged that never became a generation (a render failure, a refusal before the host
    // was touched), interleaved by time; a damaged attempts file costs them, not the history.
    auto attempts = read_attempts(cfg.state.dir);
    if (!attempts) std::fprintf(stderr, "fjordctl: warning: %s\n", tty(attempts.error().message).c_str());
    std::vector<Report> none;
    const std::vector<Report> &att = attempts ? *attempts : none;
    auto entries = history_entries(*hist, att);
    auto cur = store->current();
    if (json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto &e : entries) {
            if (e.generation) {
                const auto &g = *std::find_if(hist->begin(), hist->end(), [&](const GenerationInfo &i) { return i.number == e.generation; });
                arr.push_back({{"generation", g.number}, {"commit", g.commit}, {"time", g.time},
                               {"outcome", outcome_name(g.outcome)}, {"message", g.message},
                               {"changes", changes_json(g.changes)}, {"current", cur && *cur == g.number}});
            } else {
                const Report &a = att[e.attempt];
                arr.push_back({{"generation", nullptr}, {"commit", a.commit}, {"time", a.time}, {"outcome", a.outcome},
                               {"message", a.reason}, {"changes", nullptr}, {"current", false}, {"stage", a.stage},
                               {"repeats", a.repeats}});
            }
        }
        std::printf("%s\n", arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }
    // CHANGES: files +added ~changed -removed, and units started or restarted; "-" for
    // generations written before fjord kept the summary, and for attempts (nothing changed).
    // NOTE is cut to the terminal's width; piped, it is whole.
    std::size_t width = terminal_width(), lead = 5 + 1 + 12 + 1 + 25 + 1 + 17 + 1 + 12 + 1;
    std::size_t room = width == 0 ? 0 : std::max<std::size_t>(width > lead ? width - lead : 0, 10);
    std::printf("%-5s %-12s %-25s %-17s %-12s %s\n", "GEN", "COMMIT", "TIME", "CHANGES", "OUTCOME", "NOTE");
    for (const auto &e : entries) {
        if (e.generation) {
            const auto &g = *std::find_if(hist->begin(), hist->end(), [&](const GenerationInfo &i) { return i.number == e.generation; });
            std::string note = std::string(cur && *cur == g.number ? "(current) " : "") + tty(g.message);
            std::printf("%-5llu %-12s %-25s %-17s %-12s %s\n", static_cast<unsigned long long>(g.number), short_id(g.commit).c_str(),
                        format_time(g.time).c_str(), g.changes.empty() ? "-" : g.changes.c_str(), outcome_name(g.outcome),
                        fit(note, room).c_str());
        } else {
            const Report &a = att[e.attempt];
            std::string note = (a.repeats > 1 ? "(" + std::to_string(a.repeats) + " times) " : std::string()) + a.stage + ": " + tty(a.reason);
            std::printf("%-5s %-12s %-25s %-17s %-12s %s\n", "-", short_id(a.commit).c_str(), format_time(a.time).c_str(), "-",
                        a.outcome.c_str(), fit(note, room).c_str());
        }
    }
    return 0;
}

std::vector<EntryRef> history_entries(const std::vector<GenerationInfo> &gens, const std::vector<Report> &attempts) {
    std::vector<EntryRef> out;
    // In the order fjord judged them: an attempt goes after the generation that was the newest
    // then (times have seconds only; several judgements may share one).
    std::vector<std::pair<std::uint64_t, EntryRef>> keyed;
    for (const auto &g : gens) keyed.push_back({g.number, {g.number, 0, g.commit, g.time}});
    for (std::size_t i = 0; i < attempts.size(); ++i) keyed.push_back({attempts[i].after, {0, i, attempts[i].commit, attempts[i].time}});
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto &a, const auto &b) {
        if (a.first != b.first) return a.first < b.first;
        return a.second.generation != 0 && b.second.generation == 0; // the generation before its attempts
    });
    for (auto &k : keyed) out.push_back(std::move(k.second));
    return out;
}

} // namespace fjord
