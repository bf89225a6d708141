// The persisted status (state.dir/status.json) that fjordctl reads: written by the recorder,
// read back at start and by fjordctl, sealed by a checksum.
#include "control/status.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include <nlohmann/json.hpp>

namespace fjord {

std::string status_to_json(const AgentStatus &s) {
    nlohmann::json j = {{"generation", s.generation}, {"commit", s.commit},     {"synced_commit", s.synced_commit},
                        {"last_sync", s.last_sync},   {"next_poll", s.next_poll}, {"last_drift", s.last_drift},
                        {"last_result", s.last_result}, {"last_error", s.last_error}, {"suspended", s.suspended},
                        {"drifted", s.drifted}, {"managed", s.managed}, {"note", s.note}, {"render_key", s.render_key}, {"facts_key", s.facts_key},
                        {"commit_time", s.commit_time}, {"commit_subject", s.commit_subject},
                        {"last_success", s.last_success}, {"apply_seconds", s.apply_seconds},
                        {"changes_total", s.changes_total}, {"rollbacks_total", s.rollbacks_total},
                        {"drift_corrections_total", s.drift_corrections_total}, {"poll_errors", s.poll_errors},
                        {"last_image_update", s.last_image_update}, {"registry_error", s.registry_error},
                        {"last_registry_check", s.last_registry_check}, {"image_updates_total", s.image_updates_total},
                        {"registry_errors_total", s.registry_errors_total}, {"renders_total", s.renders_total},
                        {"partial_renders_total", s.partial_renders_total}, {"remote_head", s.remote_head},
                        {"attempted_commit", s.attempted_commit}, {"attempted_outcome", s.attempted_outcome},
                        {"attempted_reason", s.attempted_reason}, {"attempted_time", s.attempted_time},
                        {"attempted_generation", s.attempted_generation}, {"wave", s.wave}, {"rollout", s.rollout},
                        {"rollout_commit", s.rollout_commit}, {"rollout_reason", s.rollout_reason}};
    // A commit subject is the operator's text: invalid UTF-8 is replaced, never a throw. A
    // checksum over the rest (as the reader will see it) tells damage at rest from content: a
    // flipped digit of synced_commit would otherwise become the base of the force-push check.
    auto canon = nlohmann::json::parse(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    canon["checksum"] = blob_id(canon.dump());
    return canon.dump(2);
}

Result<AgentStatus> read_status(const std::string &state_dir) {
    auto text = read_file(state_dir + "/status.json", 1 << 20);
    if (!text) return fail(std::move(text.error()));
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid, state_dir + "/status.json: not valid JSON");
    if (auto it = j.find("checksum"); it != j.end()) {
        std::string sum = it->is_string() ? it->get<std::string>() : "";
        j.erase(it);
        if (sum != blob_id(j.dump())) return fail(Errc::invalid, state_dir + "/status.json: damaged (its content does not match its checksum)");
    }
    // Field by field with type checks: a hand-edited or damaged file costs its bad fields,
    // never an exception (nlohmann's value() throws on a type mismatch).
    AgentStatus s;
    auto str = [&](const char *k, std::string &out) {
        if (auto it = j.find(k); it != j.end() && it->is_string()) out = it->get<std::string>();
    };
    auto num = [&](const char *k, auto &out) {
        if (auto it = j.find(k); it != j.end() && it->is_number_integer()) out = it->get<std::decay_t<decltype(out)>>();
    };
    num("generation", s.generation);
    str("commit", s.commit);
    str("synced_commit", s.synced_commit);
    num("last_sync", s.last_sync);
    num("next_poll", s.next_poll);
    num("last_drift", s.last_drift);
    str("last_result", s.last_result);
    str("last_error", s.last_error);
    str("suspended", s.suspended);
    num("drifted", s.drifted);
    num("managed", s.managed);
    str("note", s.note);
    str("render_key", s.render_key);
    str("facts_key", s.facts_key);
    num("commit_time", s.commit_time);
    str("commit_subject", s.commit_subject);
    num("last_success", s.last_success);
    if (auto it = j.find("apply_seconds"); it != j.end() && it->is_number()) s.apply_seconds = it->get<double>();
    num("changes_total", s.changes_total);
    num("rollbacks_total", s.rollbacks_total);
    num("drift_corrections_total", s.drift_corrections_total);
    str("last_image_update", s.last_image_update);
    str("registry_error", s.registry_error);
    num("last_registry_check", s.last_registry_check);
    num("image_updates_total", s.image_updates_total);
    num("registry_errors_total", s.registry_errors_total);
    num("renders_total", s.renders_total);
    num("partial_renders_total", s.partial_renders_total);
    str("remote_head", s.remote_head);
    str("attempted_commit", s.attempted_commit);
    str("attempted_outcome", s.attempted_outcome);
    str("attempted_reason", s.attempted_reason);
    num("attempted_time", s.attempted_time);
    num("attempted_generation", s.attempted_generation);
    str("wave", s.wave);
    str("rollout", s.rollout);
    str("rollout_commit", s.rollout_commit);
    str("rollout_reason", s.rollout_reason);
    if (auto it = j.find("poll_errors"); it != j.end() && it->is_object())
        for (const auto &[k, v] : it->items())
            if (v.is_number_unsigned()) s.poll_errors[k] = v.get<std::uint64_t>();
    return s;
}

} // namespace fjord
