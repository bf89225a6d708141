// Reports of judged commits (control/report.hpp): JSON in the state dir, read by fjordctl.
#include "control/report.hpp"

#include "util/fs.hpp"
#include <cerrno>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace fjord {
namespace {

using json = nlohmann::json;

json to_json(const Report &r) {
    json stages = json::array(), steps = json::array();
    for (const auto &s : r.stages) stages.push_back({{"stage", s.stage}, {"ms", s.ms}});
    for (const auto &s : r.steps)
        steps.push_back({{"kind", s.kind}, {"name", s.name}, {"result", s.result}, {"ms", s.ms}, {"output", s.output}});
    return {{"generation", r.generation}, {"commit", r.commit}, {"subject", r.subject}, {"time", r.time},
            {"outcome", r.outcome},       {"stage", r.stage},   {"reason", r.reason},   {"repeats", r.repeats}, {"after", r.after},
            {"stages", stages},           {"steps", steps}};
}

// Field by field with type checks: a damaged or hand-edited file costs its bad fields only.
template <class T> void get(const json &j, const char *k, T &out) {
    auto it = j.find(k);
    if (it == j.end()) return;
    if constexpr (std::is_same_v<T, std::string>) {
        if (it->is_string()) out = it->get<std::string>();
    } else if (it->is_number_integer()) {
        out = it->get<T>();
    }
}

Report from_json(const json &j) {
    Report r;
    get(j, "generation", r.generation);
    get(j, "commit", r.commit);
    get(j, "subject", r.subject);
    get(j, "time", r.time);
    get(j, "outcome", r.outcome);
    get(j, "stage", r.stage);
    get(j, "reason", r.reason);
    get(j, "repeats", r.repeats);
    get(j, "after", r.after);
    if (auto it = j.find("stages"); it != j.end() && it->is_array())
        for (const auto &s : *it)
            if (s.is_object()) {
                StageTime t;
                get(s, "stage", t.stage);
                get(s, "ms", t.ms);
                r.stages.push_back(std::move(t));
            }
    if (auto it = j.find("steps"); it != j.end() && it->is_array())
        for (const auto &s : *it)
            if (s.is_object()) {
                StepRecord t;
                get(s, "kind", t.kind);
                get(s, "name", t.name);
                get(s, "result", t.result);
                get(s, "ms", t.ms);
                get(s, "output", t.output);
                r.steps.push_back(std::move(t));
            }
    return r;
}

std::string dump(const json &j) { return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n"; }

std::string report_path(const std::string &state_dir, std::uint64_t n) {
    return state_dir + "/generations/" + std::to_string(n) + "/report.json";
}

} // namespace

std::string bounded(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut; // not inside a UTF-8 sequence
    return std::string(s.substr(0, cut)) + "\n... (" + std::to_string(s.size() - cut) + " more bytes not kept)";
}

std::vector<Report> add_attempt(std::vector<Report> log, Report r) {
    if (!log.empty()) {
        Report &last = log.back();
        if (last.commit == r.commit && last.outcome == r.outcome && last.reason == r.reason) {
            r.repeats = last.repeats + 1;
            last = std::move(r);
            return log;
        }
    }
    log.push_back(std::move(r));
    if (log.size() > kept_attempts) log.erase(log.begin(), log.end() - static_cast<std::ptrdiff_t>(kept_attempts));
    return log;
}

std::string report_to_json(const Report &r) { return dump(to_json(r)); }

Result<Report> report_from_json(std::string_view text, const std::string &where) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::corrupt, where + ": not a report (not a JSON object)");
    return from_json(j);
}

Result<std::vector<Report>> read_attempts(const std::string &state_dir) {
    std::string where = state_dir + "/attempts.json";
    if (::access(where.c_str(), F_OK) < 0 && errno == ENOENT) return std::vector<Report>{};
    auto text = read_file(where, 16u << 20);
    if (!text) return fail(std::move(text.error()));
    auto j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) return fail(Errc::corrupt, where + ": not a list of attempts (not a JSON array)");
    std::vector<Report> out;
    for (const auto &e : j)
        if (e.is_object()) out.push_back(from_json(e));
    return out;
}

Status write_attempts(const std::string &state_dir, const std::vector<Report> &log) {
    json arr = json::array();
    for (const auto &r : log) arr.push_back(to_json(r));
    return write_file_atomic(state_dir + "/attempts.json", dump(arr), 0600);
}

Result<Report> read_generation_report(const std::string &state_dir, std::uint64_t n) {
    std::string where = report_path(state_dir, n);
    if (::access(where.c_str(), F_OK) < 0 && errno == ENOENT) return fail(Errc::not_found, where + ": no report");
    auto text = read_file(where, 16u << 20);
    if (!text) return fail(std::move(text.error()));
    return report_from_json(*text, where);
}

Status write_generation_report(const std::string &state_dir, const Report &r) {
    return write_file_atomic(report_path(state_dir, r.generation), report_to_json(r), 0600);
}

} // namespace fjord
