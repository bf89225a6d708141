#include "prereq/report.hpp"

#include "prereq/evaluate.hpp"
#include "util/fs.hpp"
#include <cerrno>
#include <unistd.h>

namespace fjord::prereq {
namespace {

nlohmann::json steal_json(const StealFacts &s) {
    return {{"percent", s.percent}, {"window_ms", s.window_ms}, {"error", s.error}, {"at", s.at}};
}

nlohmann::json fsync_json(const FsyncFacts &f) {
    return {{"dir", f.dir},       {"paths", f.paths},   {"writes", f.writes},   {"bytes", f.bytes},
            {"p50_ns", f.p50_ns}, {"p99_ns", f.p99_ns}, {"max_ns", f.max_ns},   {"seconds", f.seconds},
            {"stopped_early", f.stopped_early}, {"error", f.error}, {"at", f.at}};
}

} // namespace

CheckStatus status_from_name(const std::string &s) {
    if (s == "pass") return CheckStatus::pass;
    if (s == "fail") return CheckStatus::fail;
    return CheckStatus::warn;
}

const char *mode_name(PrereqMode m) {
    switch (m) {
    case PrereqMode::off: return "off";
    case PrereqMode::warn: return "warn";
    case PrereqMode::block: return "block";
    }
    return "?";
}

nlohmann::json to_json(const CheckResult &r) {
    return {{"check", r.check},         {"subject", r.subject}, {"status", status_name(r.status)},
            {"value", r.value},         {"threshold", r.threshold}, {"problem", r.problem},
            {"remedy", r.remedy},       {"data", r.data}};
}

nlohmann::json report_json(const std::vector<CheckResult> &results) {
    nlohmann::json checks = nlohmann::json::array();
    int counts[3] = {0, 0, 0};
    for (const auto &r : results) {
        checks.push_back(to_json(r));
        ++counts[int(r.status)];
    }
    return {{"status", status_name(worst(results))},
            {"counts", {{"pass", counts[0]}, {"warn", counts[1]}, {"fail", counts[2]}}},
            {"checks", checks}};
}

Status write_saved(const std::string &state_dir, const Saved &s) {
    nlohmann::json results = nlohmann::json::array();
    for (const auto &r : s.results) results.push_back(to_json(r));
    nlohmann::json fsync = nlohmann::json::array();
    for (const auto &f : s.fsync) fsync.push_back(fsync_json(f));
    nlohmann::json j = {{"version", 1}, {"checked_at", s.checked_at}, {"mode", s.mode}, {"results", results},
                        {"steal", s.steal ? steal_json(*s.steal) : nlohmann::json(nullptr)}, {"fdatasync", fsync}};
    return write_file_atomic(state_dir + "/" + saved_name, j.dump(2) + "\n", 0600);
}

Result<Saved> read_saved(const std::string &state_dir) {
    std::string file = state_dir + "/" + saved_name;
    if (::access(file.c_str(), F_OK) < 0 && errno == ENOENT) return fail(Errc::not_found, file + ": none saved yet");
    auto text = read_file(file, 4u << 20);
    if (!text) return fail(std::move(text.error()));
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1) return fail(Errc::invalid, file + ": not a prerequisites file of this fjord");
    // nlohmann signals a field of the wrong type by throwing; that must not leave this layer.
    try {
        Saved s;
        s.checked_at = j.value("checked_at", std::int64_t{0});
        s.mode = j.value("mode", "");
        for (const auto &r : j.value("results", nlohmann::json::array())) {
            CheckResult c;
            c.check = r.value("check", "");
            c.subject = r.value("subject", "");
            c.status = status_from_name(r.value("status", ""));
            c.value = r.value("value", "");
            c.threshold = r.value("threshold", "");
            c.problem = r.value("problem", "");
            c.remedy = r.value("remedy", "");
            c.data = r.value("data", nlohmann::json::object());
            s.results.push_back(std::move(c));
        }
        if (const auto &st = j["steal"]; st.is_object()) {
            StealFacts f;
            f.percent = st.value("percent", 0.0);
            f.window_ms = st.value("window_ms", std::int64_t{0});
            f.error = st.value("error", "");
            f.at = st.value("at", std::int64_t{0});
            s.steal = f;
        }
        for (const auto &x : j.value("fdatasync", nlohmann::json::array())) {
            FsyncFacts f;
            f.dir = x.value("dir", "");
            f.paths = x.value("paths", std::vector<std::string>{});
            f.writes = x.value("writes", std::uint64_t{0});
            f.bytes = x.value("bytes", std::uint64_t{0});
            f.p50_ns = x.value("p50_ns", std::int64_t{0});
            f.p99_ns = x.value("p99_ns", std::int64_t{0});
            f.max_ns = x.value("max_ns", std::int64_t{0});
            f.seconds = x.value("seconds", 0.0);
            f.stopped_early = x.value("stopped_early", false);
            f.error = x.value("error", "");
            f.at = x.value("at", std::int64_t{0});
            s.fsync.push_back(std::move(f));
        }
        return s;
    } catch (const nlohmann::json::exception &e) {
        return fail(Errc::invalid, file + ": " + e.what());
    }
}

} // namespace fjord::prereq
