#include "cli/status_cmd.hpp"

#include "apply/store.hpp"
#include "cli/check_cmd.hpp"
#include "cli/tty.hpp"
#include "config/own_paths.hpp"
#include "control/control.hpp"
#include "control/status.hpp"
#include "util/parse.hpp"
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

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
    if (json) {
        j.erase("ok");
        std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }
    std::int64_t now = std::time(nullptr);
    auto i64 = [&](const char *k) { return j.value(k, std::int64_t{0}); };
    std::string commit = short_id(j.value("commit", ""));
    if (!j.value("commit_subject", "").empty()) commit += " \"" + cut(tty_field(j, "commit_subject"), 50) + "\"";
    if (i64("commit_time") > 0) commit += " (" + relative_time(i64("commit_time"), now) + ")";
    std::printf("fjordd:      %s\n", running ? "running" : "not running (systemctl start fjord)");
    std::printf("source:      %s\n", source_line(cfg).c_str());
    std::printf("commit:      %s\n", commit.c_str());
    std::printf("generation:  %llu (%zu paths)\n", static_cast<unsigned long long>(j.value("generation", 0ull)),
                j.value("managed", std::size_t{0}));
    std::printf("last sync:   %s, %s (%s)\n", j.value("last_result", "-").c_str(), relative_time(i64("last_sync"), now).c_str(),
                format_time(i64("last_sync")).c_str());
    if (!j.value("last_error", "").empty()) std::printf("last error:  %s\n", tty_field(j, "last_error").c_str());
    if (running) std::printf("next poll:   %s\n", relative_time(i64("next_poll"), now).c_str());
    std::printf("applying:    %s\n", j.value("suspended", "").empty() ? "active" : ("paused: " + tty_field(j, "suspended")).c_str());
    std::printf("drift:       %zu drifted (last pass %s), %llu corrected in all\n", j.value("drifted", std::size_t{0}),
                relative_time(i64("last_drift"), now).c_str(), static_cast<unsigned long long>(j.value("drift_corrections_total", 0ull)));
    if (!j.value("last_image_update", "").empty() || i64("last_registry_check") > 0)
        std::printf("images:      %s (registries checked %s)\n",
                    j.value("last_image_update", "").empty() ? "no update yet" : tty_field(j, "last_image_update").c_str(),
                    relative_time(i64("last_registry_check"), now).c_str());
    if (!j.value("registry_error", "").empty()) std::printf("registry:    %s\n", tty_field(j, "registry_error").c_str());
    print_prereq_status(j);
    if (!j.value("note", "").empty()) std::printf("note:        %s\n", tty_field(j, "note").c_str());
    return 0;
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
    auto cur = store->current();
    if (json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto &g : *hist)
            arr.push_back({{"generation", g.number}, {"commit", g.commit}, {"time", g.time},
                           {"outcome", outcome_name(g.outcome)}, {"message", g.message},
                           {"changes", changes_json(g.changes)}, {"current", cur && *cur == g.number}});
        std::printf("%s\n", arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }
    // CHANGES: files +added ~changed -removed, and units started or restarted; "-" for
    // generations written before fjord kept the summary.
    std::printf("%-5s %-12s %-25s %-17s %-12s %s\n", "GEN", "COMMIT", "TIME", "CHANGES", "OUTCOME", "NOTE");
    for (const auto &g : *hist)
        std::printf("%-5llu %-12s %-25s %-17s %-12s %s%s\n", static_cast<unsigned long long>(g.number), short_id(g.commit).c_str(),
                    format_time(g.time).c_str(), g.changes.empty() ? "-" : g.changes.c_str(), outcome_name(g.outcome),
                    cur && *cur == g.number ? "(current) " : "", tty(g.message).c_str());
    return 0;
}

} // namespace fjord
