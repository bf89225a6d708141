// What a sync reports and what fjordctl reads: sync outcomes, their journal entries, and the
// persisted status (state.dir/status.json).
#include "daemon/log.hpp"
#include "daemon/reconciler.hpp"
#include "util/fs.hpp"
#include <nlohmann/json.hpp>

namespace fjord {

const char *sync_state_name(SyncState s) {
    switch (s) {
    case SyncState::up_to_date: return "up-to-date";
    case SyncState::applied: return "applied";
    case SyncState::dry_run: return "dry-run";
    case SyncState::refused: return "refused";
    case SyncState::failed: return "failed";
    case SyncState::suspended: return "suspended";
    case SyncState::not_configured: return "not-configured";
    }
    return "?";
}

void log_sync_result(const SyncResult &r, bool with_plan) {
    LogLevel level = r.state == SyncState::failed || r.state == SyncState::refused ? LogLevel::error
                     : r.state == SyncState::up_to_date                            ? LogLevel::debug
                                                                                   : LogLevel::info;
    std::string gen = r.generation ? std::to_string(r.generation) : "";
    log_msg(level, r.msgid, r.message, {{"COMMIT", r.commit}, {"GENERATION", gen}, {"FJORD_RESULT", sync_state_name(r.state)}});
    if (with_plan && r.state == SyncState::dry_run && !r.plan.empty()) log_msg(LogLevel::info, nullptr, "plan:\n" + r.plan);
}

std::string status_to_json(const AgentStatus &s) {
    nlohmann::json j = {{"generation", s.generation}, {"commit", s.commit},     {"synced_commit", s.synced_commit},
                        {"last_sync", s.last_sync},   {"next_poll", s.next_poll}, {"last_drift", s.last_drift},
                        {"last_result", s.last_result}, {"last_error", s.last_error}, {"suspended", s.suspended},
                        {"drifted", s.drifted}, {"managed", s.managed}, {"note", s.note}, {"render_key", s.render_key}, {"facts_key", s.facts_key}};
    return j.dump(2);
}

Result<AgentStatus> read_status(const std::string &state_dir) {
    auto text = read_file(state_dir + "/status.json", 1 << 20);
    if (!text) return fail(std::move(text.error()));
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid, state_dir + "/status.json: not valid JSON");
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
    return s;
}

} // namespace fjord
