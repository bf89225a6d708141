#include "fleet/report.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

namespace fjord::fleet {
namespace {

using json = nlohmann::json;

/// At most `max` bytes of `s`, cut on a UTF-8 boundary (so the JSON stays valid).
std::string cut(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

bool is_commit_id(std::string_view id) {
    return id.size() == 40 && std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// Reads the fields of one JSON object, each checked; the first problem is kept.
class Fields {
  public:
    Fields(const json &obj, std::string where) : obj_(obj), where_(std::move(where)) {}

    void str(const char *key, std::string &out, std::size_t max, bool (*form)(std::string_view) = nullptr,
             const char *form_text = "") {
        const json *v = find(key);
        if (!v) return;
        if (!v->is_string()) return bad(key, "must be a string");
        const auto &s = v->get_ref<const std::string &>();
        if (s.size() > max) return bad(key, "longer than " + std::to_string(max) + " bytes");
        if (form && !form(s)) return bad(key, std::string("must be ") + form_text);
        out = s;
    }
    template <class Int> void num(const char *key, Int &out) {
        const json *v = find(key);
        if (!v) return;
        if (!v->is_number_integer() || (v->is_number_unsigned() ? v->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<Int>::max())
                                                                 : v->get<std::int64_t>() < 0))
            return bad(key, "must be a non-negative integer");
        out = v->get<Int>();
    }
    const json *find(const char *key) {
        auto it = obj_.find(key);
        return it == obj_.end() || it->is_null() ? nullptr : &*it;
    }
    void bad(const std::string &key, const std::string &why) {
        if (!error_) error_ = Error{Errc::invalid, where_ + key + ": " + why};
    }
    [[nodiscard]] std::optional<Error> &error() { return error_; }

  private:
    const json &obj_;
    std::string where_;
    std::optional<Error> error_;
};

/// Reads the object `o` (when there is one) with `read`, its problems named "key.field" and
/// kept in `f`; false when `o` is there and no object.
template <class Read> bool nested(Fields &f, const json *o, const std::string &where, const std::string &key, Read read) {
    if (!o) return true;
    if (!o->is_object()) {
        f.bad(key, "must be an object");
        return false;
    }
    Fields inner(*o, where + key + ".");
    read(inner);
    if (inner.error() && !f.error()) f.error() = inner.error();
    return true;
}

bool commit_or_empty(std::string_view s) { return s.empty() || is_commit_id(s); }
bool ref_name_or_empty(std::string_view s) { return s.empty() || check_ref_name(s, "").has_value(); }
bool ref_name(std::string_view s) { return check_ref_name(s, "").has_value(); }
bool report_state(std::string_view s) { return s == "good" || s == "failed" || s == "waiting" || s == "halted"; }
bool judged_state(std::string_view s) { return s == "good" || s == "failed" || s == "refused"; }

} // namespace

std::string report_json(const HostReport &r) {
    json judged = json::array();
    for (std::size_t i = 0; i < r.judged.size() && i < max_judged; ++i) {
        const auto &j = r.judged[i];
        judged.push_back({{"commit", j.commit}, {"outcome", j.outcome}, {"reason", cut(j.reason, max_report_reason)}, {"time", j.time}});
    }
    json j{{"schema", 1},
           {"host", r.host},
           {"fjord_version", r.fjord_version},
           {"time", r.time},
           {"commit", r.commit},
           {"generation", r.generation},
           {"wave", r.wave},
           {"state", r.state},
           {"reason", cut(r.reason, max_report_reason)},
           {"judged", std::move(judged)},
           {"health", {{"passed", r.health_passed}, {"failed", r.health_failed}}},
           {"prerequisites", {{"pass", r.prereq_pass}, {"warn", r.prereq_warn}, {"fail", r.prereq_fail}}}};
    // Bytes a host may not have written as UTF-8 (a reason quoting a file) are replaced, never thrown.
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<HostReport> parse_report(std::string_view text, std::string_view ref) {
    const std::string where = std::string(ref) + ": report.json: ";
    if (text.size() > max_report_bytes)
        return fail(Errc::invalid, where + "larger than " + std::to_string(max_report_bytes >> 10) + " KiB (" +
                                       std::to_string(text.size()) + " bytes)");
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) return fail(Errc::invalid, where + "not JSON");
    if (!j.is_object()) return fail(Errc::invalid, where + "not a JSON object");
    auto schema = j.find("schema");
    if (schema == j.end() || !schema->is_number_integer() || schema->get<std::int64_t>() != 1)
        return fail(Errc::invalid, where + "schema " + (schema == j.end() ? std::string("missing") : cut(schema->dump(), 40)) +
                                       ", fjord reads schema 1");
    HostReport r;
    Fields f(j, where);
    if (!f.find("host")) f.bad("host", "missing");
    f.str("host", r.host, 63, ref_name, "a host name as refs use it");
    f.str("fjord_version", r.fjord_version, 128);
    f.num("time", r.time);
    f.str("commit", r.commit, 40, commit_or_empty, "a 40-digit commit id");
    f.num("generation", r.generation);
    f.str("wave", r.wave, 63, ref_name_or_empty, "a wave name as refs use it");
    f.str("state", r.state, 16, report_state, "good, failed, waiting or halted");
    f.str("reason", r.reason, max_report_reason);
    nested(f, f.find("health"), where, "health", [&](Fields &h) {
        h.num("passed", r.health_passed);
        h.num("failed", r.health_failed);
    });
    nested(f, f.find("prerequisites"), where, "prerequisites", [&](Fields &p) {
        p.num("pass", r.prereq_pass);
        p.num("warn", r.prereq_warn);
        p.num("fail", r.prereq_fail);
    });
    if (const json *js = f.find("judged")) {
        if (!js->is_array()) f.bad("judged", "must be an array");
        else if (js->size() > max_judged) f.bad("judged", "more than " + std::to_string(max_judged) + " entries");
        else
            for (std::size_t i = 0; i < js->size(); ++i) {
                Judged jd;
                bool object = nested(f, &(*js)[i], where, "judged[" + std::to_string(i) + "]", [&](Fields &jf) {
                    jf.str("commit", jd.commit, 40, is_commit_id, "a 40-digit commit id");
                    jf.str("outcome", jd.outcome, 16, judged_state, "good, failed or refused");
                    jf.str("reason", jd.reason, max_report_reason);
                    jf.num("time", jd.time);
                });
                if (!object) break;
                r.judged.push_back(std::move(jd));
            }
    }
    if (f.error()) return fail(std::move(*f.error()));
    return r;
}

std::string judged_outcome(std::string_view o) {
    if (o == "applied" || o == "up-to-date") return "good";
    if (o == "failed" || o == "rolled-back") return "failed";
    if (o == "refused") return "refused";
    return {};
}

std::optional<Mark> mark_of(const Standing &s) {
    if (s.rollout == "waiting" || s.rollout == "halted") {
        std::string c = s.rollout_commit.empty() ? s.remote_head : s.rollout_commit;
        if (is_commit_id(c)) return Mark{c, MarkState::waiting, s.rollout};
    }
    std::string o = judged_outcome(s.attempted_outcome);
    if (is_commit_id(s.attempted_commit) && !o.empty()) {
        bool good = o == "good";
        return Mark{s.attempted_commit, good ? MarkState::good : MarkState::failed, good ? "good" : "failed"};
    }
    if (is_commit_id(s.current_commit)) return Mark{s.current_commit, MarkState::good, "good"};
    return std::nullopt;
}

std::string report_tree_body(std::string_view blob_id) {
    std::string raw;
    for (std::size_t i = 0; i + 1 < blob_id.size(); i += 2)
        raw += static_cast<char>(std::stoi(std::string(blob_id.substr(i, 2)), nullptr, 16));
    return "100644 report.json" + std::string(1, '\0') + raw;
}

std::string report_commit_body(std::string_view tree_id, std::string_view host, std::int64_t time) {
    const std::string who = "fjord <fjord@invalid> " + std::to_string(time) + " +0000\n";
    return "tree " + std::string(tree_id) + "\nauthor " + who + "committer " + who + "\nfjord report " + std::string(host) + "\n";
}

std::vector<std::string> push_refspecs(std::string_view host, std::string_view wave, bool with_marker,
                                       std::string_view old_marker_ref) {
    std::vector<std::string> specs{"+" + std::string(local_report_ref) + ":" + host_ref(host)};
    std::string now = with_marker ? marker_ref(wave, host) : std::string{};
    if (with_marker) specs.push_back("+" + std::string(local_marker_ref) + ":" + now);
    if (!old_marker_ref.empty() && old_marker_ref != now) specs.push_back(":" + std::string(old_marker_ref));
    return specs;
}

} // namespace fjord::fleet
