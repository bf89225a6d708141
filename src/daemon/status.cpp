// What a sync reports and what fjordctl reads: sync outcomes, their journal entries, and the
// persisted status (state.dir/status.json).
#include "daemon/log.hpp"
#include "daemon/notify.hpp"
#include "daemon/reconciler.hpp"
#include "util/hash.hpp"
#include "util/fs.hpp"
#include <ctime>
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

std::optional<NotifyEvent> sync_event(const SyncResult &r) {
    NotifyEvent e{"", r.commit, r.generation, std::time(nullptr), r.message, false};
    switch (r.state) {
    case SyncState::applied: e.event = "applied"; break;
    case SyncState::refused: e.event = "refused"; break;
    case SyncState::failed: e.event = r.rolled_back ? "rolled_back" : "failed"; break;
    default: return std::nullopt; // up to date, dry runs, suspended: nothing happened
    }
    // The same refusal or failure poll after poll is sent once (a down remote every minute).
    e.dedupe = r.state != SyncState::applied && !r.rolled_back;
    return e;
}

std::optional<NotifyEvent> drift_event(const std::vector<DriftEvent> &events, std::size_t corrected, std::uint64_t generation,
                                       const std::string &commit) {
    if (events.empty()) return std::nullopt;
    std::string s = std::to_string(events.size()) + (events.size() == 1 ? " drifted path" : " drifted paths") +
                    (corrected ? ", " + std::to_string(corrected) + " corrected" : ", none corrected") + ": ";
    for (std::size_t i = 0; i < events.size() && i < 5; ++i) s += (i ? "; " : "") + events[i].path + " (" + events[i].what + ")";
    if (events.size() > 5) s += "; …";
    // Drift left in place is found again every pass: say it once until it changes.
    return NotifyEvent{"drift", commit, generation, std::time(nullptr), s, corrected == 0};
}

void Reconciler::notify(const std::optional<NotifyEvent> &e) {
    if (e) notifier_->send(*e);
}

void Reconciler::note_commit(const std::string &commit) {
    status_.commit_time = 0;
    status_.commit_subject.clear();
    if (!source_ || commit.empty()) return;
    if (auto ci = source_->commit_info(commit)) {
        status_.commit_time = ci->time;
        status_.commit_subject = ci->subject;
    }
}

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
                        {"registry_errors_total", s.registry_errors_total}, {"renders_total", s.renders_total}};
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
    if (auto it = j.find("poll_errors"); it != j.end() && it->is_object())
        for (const auto &[k, v] : it->items())
            if (v.is_number_unsigned()) s.poll_errors[k] = v.get<std::uint64_t>();
    return s;
}

} // namespace fjord
