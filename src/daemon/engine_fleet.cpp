// fleet.toml's wave gate (issue 20), in the guard stage: may this host apply the commit now, or
// does an earlier wave of the fleet have to be good with it first? The policy is read from the
// commit itself; the earlier waves' markers are listed from the status repo ([report].url) with
// one ls-refs call (a prefix per earlier wave) in a sandboxed child. Reports only ever hold a
// commit back: the host keeps its generation (drift correction goes on), says why in status,
// STATUS= and fjord_fleet_waiting, and asks again at the next poll. fleet/gate.hpp decides.
#include "daemon/engine.hpp"
#include "daemon/log.hpp"
#include "fleet/fleet_toml.hpp"
#include "fleet/gate.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace fjord {
namespace {

/// The gate's memory in STATE/fleet.json; a damaged file is moved aside and started afresh
/// (its halts are gone then: the status repo still holds the failures that made them).
fleet::GateMemory load_memory(const std::string &path) {
    auto text = read_file(path, fleet::max_fleet_json_bytes);
    if (!text) {
        if (text.error().code != Errc::not_found) log_warning("fleet gate: " + text.error().message + ", starting afresh");
        return {};
    }
    auto m = fleet::parse_gate_memory(*text);
    if (m) return *m;
    log_warning("fleet gate: " + path + ": " + m.error().message + ", moved aside to " + path + ".broken and started afresh");
    (void)std::rename(path.c_str(), (path + ".broken").c_str());
    return {};
}

void save_memory(const std::string &path, const fleet::GateMemory &m) {
    auto old = read_file(path, fleet::max_fleet_json_bytes);
    if (auto s = write_file_atomic(path, fleet::gate_memory_json(m, old ? *old : "")); !s)
        log_warning("fleet gate: " + s.error().message + ", ignoring");
}

bool same_memory(const fleet::GateMemory &a, const fleet::GateMemory &b) {
    if (a.commit != b.commit || a.satisfied_since != b.satisfied_since || a.halts.size() != b.halts.size()) return false;
    for (std::size_t i = 0; i < a.halts.size(); ++i)
        if (a.halts[i].commit != b.halts[i].commit) return false;
    return true;
}

} // namespace

std::optional<Event> Engine::wave_gate(Run &r) {
    AgentStatus &st = rec_.status();
    auto let_through = [&](std::string wave) -> std::optional<Event> {
        st.wave = std::move(wave);
        st.rollout.clear();
        st.rollout_commit.clear();
        st.rollout_reason.clear();
        return std::nullopt;
    };
    if (r.rollback || r.image || r.commit.empty()) return std::nullopt; // the current commit's own generations
    if (r.wave_gate_asked) return std::nullopt;                          // the gates stage found it open
    if (cfg_.report.url.empty()) return let_through("");
    auto text = repo().root_file(r.commit, std::string(fleet::fleet_toml_name), fleet::max_fleet_toml_bytes);
    if (!text) {
        r.error = text.error().context(std::string(fleet::fleet_toml_name));
        r.message = "commit " + short_id(r.commit) + ": " + r.error.message;
        return Event::guard_failed;
    }
    if (!*text) return let_through("all");
    auto policy = fleet::parse_fleet_toml(**text, std::string(fleet::fleet_toml_name));
    if (!policy) {
        r.error = policy.error();
        r.message = "commit " + short_id(r.commit) + ": " + policy.error().message;
        return Event::inconsistent;
    }
    if (policy->mode == fleet::FleetMode::all) return let_through("all");
    std::size_t wave = fleet::wave_of(*policy, cfg_.report.host);
    const std::string &name = policy->waves[wave].name;
    if (wave == 0) return let_through(name);
    if (r.skip_waves) {
        log_info("fleet: commit " + short_id(r.commit) + " applied outside wave " + name + "'s gate (fjordctl sync --skip-waves)",
                 {{"COMMIT", r.commit}});
        return let_through(name);
    }

    const std::string path = store_.path("fleet.json");
    fleet::GateMemory memory = load_memory(path), before = memory;
    fleet::Decision d;
    if (const fleet::Halt *h = memory.halt_of(r.commit)) {
        d = {fleet::Verdict::halt, h->reason}; // sticky: the status repo is not asked again
    } else {
        fleet::LsRefsRequest req;
        req.url = cfg_.report.url;
        req.prefixes = fleet::gate_prefixes(*policy, wave);
        req.ssh_key = cfg_.report.ssh_key;
        req.known_hosts = cfg_.report.known_hosts;
        req.timeout = std::min<std::chrono::milliseconds>(cfg_.report.timeout, std::chrono::seconds(30));
        auto listed = ports_.ls_refs(req);
        if (!listed) {
            // Gates only delay: an unreachable status repo holds the commit back.
            d = {fleet::Verdict::wait, "waiting: status repository unreachable: " + listed.error().message};
        } else {
            if (listed->v0)
                log_debug("fleet: the status repository answered Git protocol v0 (read its whole advertisement, " +
                          std::to_string(listed->bytes_read) + " bytes); a server that passes GIT_PROTOCOL on answers less");
            fleet::GateInput in{r.commit, &*policy, wave, std::move(listed->refs), ports_.now()};
            d = fleet::evaluate_gate(in, memory);
        }
    }
    if (!same_memory(memory, before)) save_memory(path, memory);
    if (d.verdict == fleet::Verdict::apply) return let_through(name);
    st.wave = name;
    st.rollout = d.verdict == fleet::Verdict::halt ? "halted" : "waiting";
    st.rollout_commit = r.commit;
    st.rollout_reason = d.reason;
    r.message = d.reason;
    return d.verdict == fleet::Verdict::halt ? Event::wave_halted : Event::wave_waiting;
}

} // namespace fjord
