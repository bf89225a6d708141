// fjordctl show [GEN|COMMIT]: one history entry in full — a generation (its header, the files,
// units and containers it changed against the good generation before it, its checks and hooks
// with their results and output, the time each stage took) or an attempt that never became one
// (its outcome and whole reason).
#include "apply/store.hpp"
#include "cli/status_cmd.hpp"
#include "cli/tty.hpp"
#include "control/report.hpp"
#include "util/parse.hpp"
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

namespace fjord {
namespace {

bool all_of(std::string_view s, bool (*f)(char)) { return !s.empty() && std::all_of(s.begin(), s.end(), f); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/// What generation `to` changed against generation `from`, path by path.
struct Changes {
    std::vector<std::string> added, changed, removed, units, containers;
};

std::string what_changed(const FileSpec &a, const FileSpec &b) {
    std::vector<std::string> w;
    if (a.kind != b.kind) w.push_back("type");
    if (a.id != b.id || a.target != b.target || a.secret_mac != b.secret_mac) w.push_back(b.secret ? "secret changed" : "content");
    if (a.mode != b.mode) w.push_back("mode");
    if (a.owner != b.owner || a.group != b.group) w.push_back("owner");
    std::string s;
    for (const auto &x : w) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "record" : s;
}

// Units or containers by name: "NAME (added)", "(changed)", "(removed)".
template <class Map> void named_changes(const Map &from, const Map &to, std::vector<std::string> &out) {
    for (const auto &[n, v] : to) {
        auto it = from.find(n);
        if (it == from.end()) out.push_back(n + " (added)");
        else if (!(it->second == v)) out.push_back(n + " (changed)");
    }
    for (const auto &[n, v] : from)
        if (!to.count(n)) out.push_back(n + " (removed)");
}

Changes changes_between(const Generation &from, const Generation &to) {
    Changes c;
    for (const auto &[p, f] : to.files) {
        auto it = from.files.find(p);
        if (it == from.files.end()) c.added.push_back(p);
        else if (!(it->second.spec == f.spec)) c.changed.push_back(p + " (" + what_changed(it->second.spec, f.spec) + ")");
    }
    for (const auto &[p, f] : from.files)
        if (!to.files.count(p)) c.removed.push_back(p);
    named_changes(from.units, to.units, c.units);
    named_changes(from.containers, to.containers, c.containers);
    return c;
}

std::string ms_text(std::int64_t ms) { return ms < 10'000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s"; }

void print_list(const char *title, const std::vector<std::string> &v) {
    if (v.empty()) return;
    std::printf("%s (%zu):\n", title, v.size());
    for (const auto &x : v) std::printf("  %s\n", tty(x).c_str());
}

// Output and reasons keep their lines, indented under what they belong to.
void print_block(const std::string &text, const char *indent) {
    std::string t = tty_lines(text);
    std::size_t i = 0;
    while (i < t.size()) {
        std::size_t nl = t.find('\n', i);
        std::string line = t.substr(i, nl == std::string::npos ? std::string::npos : nl - i);
        std::printf("%s%s\n", indent, line.c_str());
        if (nl == std::string::npos) break;
        i = nl + 1;
    }
}

void print_report(const Report &r) {
    if (!r.steps.empty()) {
        std::printf("checks and hooks (%zu):\n", r.steps.size());
        for (const auto &s : r.steps) {
            std::printf("  %s %s: %s, %s\n", s.kind.c_str(), tty(s.name).c_str(), tty(s.result).c_str(), ms_text(s.ms).c_str());
            if (!s.output.empty()) print_block(s.output, "    | ");
        }
    }
    if (!r.stages.empty()) {
        std::int64_t total = 0;
        std::string line;
        for (const auto &s : r.stages) {
            total += s.ms;
            line += (line.empty() ? "" : ", ") + s.stage + " " + ms_text(s.ms);
        }
        std::printf("timings:     %s (total %s)\n", line.c_str(), ms_text(total).c_str());
    }
}

nlohmann::json report_json(const Report &r) {
    nlohmann::json steps = nlohmann::json::array(), stages = nlohmann::json::array();
    for (const auto &s : r.steps) steps.push_back({{"kind", s.kind}, {"name", s.name}, {"result", s.result}, {"ms", s.ms}, {"output", s.output}});
    for (const auto &s : r.stages) stages.push_back({{"stage", s.stage}, {"ms", s.ms}});
    return {{"steps", steps}, {"stages", stages}};
}

int usage_error(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: show: %s\n", tty_lines(msg).c_str());
    return 2;
}

} // namespace

Result<EntryRef> pick_entry(std::string_view which, const std::vector<EntryRef> &entries) {
    if (which.empty()) {
        if (entries.empty()) return fail(Errc::not_found, "the history is empty: fjord has judged no commit yet");
        return entries.back();
    }
    std::string w(which);
    std::transform(w.begin(), w.end(), w.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    std::set<std::string> commits;
    const EntryRef *newest = nullptr;
    if (w.size() >= 7 && all_of(w, is_hex))
        for (const auto &e : entries)
            if (e.commit.starts_with(w)) {
                commits.insert(e.commit);
                newest = &e;
            }
    if (commits.size() > 1) {
        std::string list;
        for (const auto &c : commits) list += "\n  " + c;
        return fail(Errc::invalid, "commit " + w + " is ambiguous; it starts:" + list);
    }
    if (newest) return *newest;
    if (all_of(w, is_digit) && w.size() <= 19) {
        auto n = parse_uint(w, 1, UINT64_MAX);
        if (!n) return fail(Errc::invalid, n.error().message);
        for (const auto &e : entries)
            if (e.generation == *n) return e;
        return fail(Errc::not_found, "generation " + w + " is not in the history (fjordctl history lists what is kept)");
    }
    if (w.size() >= 7 && all_of(w, is_hex)) return fail(Errc::not_found, "no history entry for commit " + w + " (fjordctl history lists what is kept)");
    return fail(Errc::invalid, "'" + std::string(which) + "' is neither a generation number nor a commit (7 or more hex digits)");
}

int run_show(const Config &cfg, const std::string &which, bool json) {
    auto store = Store::open_existing(cfg.state.dir);
    if (!store) {
        std::fprintf(stderr, "fjordctl: %s\n", tty(store.error().message).c_str());
        return 1;
    }
    auto hist = store->history();
    if (!hist) {
        std::fprintf(stderr, "fjordctl: %s\n", tty(hist.error().message).c_str());
        return 1;
    }
    auto attempts = read_attempts(cfg.state.dir);
    if (!attempts) std::fprintf(stderr, "fjordctl: warning: %s\n", tty(attempts.error().message).c_str());
    std::vector<Report> none;
    const std::vector<Report> &att = attempts ? *attempts : none;
    auto picked = pick_entry(which, history_entries(*hist, att));
    if (!picked) {
        if (picked.error().code == Errc::invalid) return usage_error(picked.error().message);
        std::fprintf(stderr, "fjordctl: show: %s\n", tty(picked.error().message).c_str());
        return 1;
    }
    std::int64_t now = std::time(nullptr);
    if (!picked->generation) {
        const Report &a = att[picked->attempt];
        if (json) {
            nlohmann::json j = report_json(a);
            j.update({{"generation", nullptr}, {"commit", a.commit}, {"subject", a.subject}, {"time", a.time}, {"outcome", a.outcome},
                      {"stage", a.stage}, {"reason", a.reason}, {"repeats", a.repeats}});
            std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            return 0;
        }
        std::printf("attempt on commit %s (no generation: nothing on the host was changed)\n", tty(a.commit).c_str());
        if (!a.subject.empty()) std::printf("subject:     %s\n", tty(a.subject).c_str());
        std::printf("time:        %s (%s)%s\n", format_time(a.time).c_str(), relative_time(a.time, now).c_str(),
                    a.repeats > 1 ? (", the same " + std::to_string(a.repeats) + " times").c_str() : "");
        std::printf("outcome:     %s (in stage %s)\n", a.outcome.c_str(), a.stage.c_str());
        std::printf("reason:\n");
        print_block(a.reason, "  ");
        print_report(a);
        return 0;
    }
    std::uint64_t n = picked->generation;
    auto gen = store->load(n);
    if (!gen) {
        std::fprintf(stderr, "fjordctl: show: %s\n", tty(gen.error().message).c_str());
        return 1;
    }
    // Against the good generation before it: what the host was on when it was applied.
    std::uint64_t before = 0;
    for (const auto &g : *hist)
        if (g.number < n && g.outcome == Outcome::good) before = g.number;
    auto prev = store->load(before);
    Changes c = prev ? changes_between(*prev, *gen) : Changes{};
    auto rep = read_generation_report(cfg.state.dir, n);
    auto cur = store->current();
    const GenerationInfo &i = gen->info;
    if (json) {
        nlohmann::json j = rep ? report_json(*rep) : nlohmann::json{{"steps", nullptr}, {"stages", nullptr}};
        j.update({{"generation", n}, {"commit", i.commit}, {"subject", rep ? rep->subject : ""}, {"time", i.time},
                  {"outcome", outcome_name(i.outcome)}, {"message", i.message}, {"current", cur && *cur == n},
                  {"compared_with", before}, {"files_added", c.added}, {"files_changed", c.changed}, {"files_removed", c.removed},
                  {"units_changed", c.units}, {"containers_changed", c.containers}});
        std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }
    std::printf("generation %llu%s\n", static_cast<unsigned long long>(n), cur && *cur == n ? " (current)" : "");
    std::printf("commit:      %s%s\n", i.commit.empty() ? "-" : tty(i.commit).c_str(),
                rep && !rep->subject.empty() ? (" \"" + tty(rep->subject) + "\"").c_str() : "");
    std::printf("time:        %s (%s)\n", format_time(i.time).c_str(), relative_time(i.time, now).c_str());
    std::printf("outcome:     %s\n", outcome_name(i.outcome));
    if (!i.message.empty()) {
        std::printf("%s\n", i.outcome == Outcome::good ? "note:" : "reason:");
        print_block(i.message, "  ");
    }
    if (!prev) std::printf("changes:     not known (generation %llu: %s)\n", static_cast<unsigned long long>(before), tty(prev.error().message).c_str());
    else if (before) std::printf("changes:     against generation %llu\n", static_cast<unsigned long long>(before));
    else std::printf("changes:     against an empty host (the first generation)\n");
    print_list("files added", c.added);
    print_list("files changed", c.changed);
    print_list("files removed", c.removed);
    print_list("units changed", c.units);
    print_list("containers changed", c.containers);
    if (rep) print_report(*rep);
    else std::printf("checks, hooks and timings: not recorded (a generation from before fjord kept them)\n");
    return 0;
}

} // namespace fjord
