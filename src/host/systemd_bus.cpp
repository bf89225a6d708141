// SystemdManager over sd-bus. Jobs are followed through the manager's JobRemoved signal:
// the match is installed (and Subscribe called) before any job is queued, so a job that ends
// before its method call returns is still seen.
#include "host/systemd.hpp"

#include "util/deadline.hpp"
#include <cstring>
#include <map>
#include <systemd/sd-bus.h>

namespace fjord {
namespace {

constexpr const char *dest = "org.freedesktop.systemd1";
constexpr const char *path = "/org/freedesktop/systemd1";
constexpr const char *mgr = "org.freedesktop.systemd1.Manager";

struct BusDeleter {
    void operator()(sd_bus *b) const { sd_bus_flush_close_unref(b); }
};
struct SlotDeleter {
    void operator()(sd_bus_slot *s) const { sd_bus_slot_unref(s); }
};
struct MsgDeleter {
    void operator()(sd_bus_message *m) const { sd_bus_message_unref(m); }
};
using bus_ptr = std::unique_ptr<sd_bus, BusDeleter>;
using slot_ptr = std::unique_ptr<sd_bus_slot, SlotDeleter>;
using msg_ptr = std::unique_ptr<sd_bus_message, MsgDeleter>;

// Owns an sd_bus_error and frees it on every path.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&e); }
    std::string text(int r) const {
        if (e.message) return e.message;
        return std::string("D-Bus error ") + std::to_string(-r);
    }
    /// What systemd refuses about the unit itself (no such unit, masked, a bad unit file) is
    /// the commit's fault; anything else (the bus, a timeout) is the host's, for now.
    Errc code() const {
        static const char *unit_faults[] = {"org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed",
                                            "org.freedesktop.systemd1.UnitMasked", "org.freedesktop.systemd1.BadUnitSetting",
                                            "org.freedesktop.systemd1.OnlyByDependency", "org.freedesktop.DBus.Error.InvalidArgs"};
        for (const char *n : unit_faults)
            if (sd_bus_error_has_name(&e, n)) return Errc::invalid;
        return Errc::unavailable;
    }
};

class BusManager final : public SystemdManager {
  public:
    BusManager(bus_ptr bus, std::chrono::milliseconds timeout) : bus_(std::move(bus)), timeout_(timeout) {}

    Status init() {
        sd_bus_slot *slot = nullptr;
        int r = sd_bus_match_signal(bus_.get(), &slot, dest, path, mgr, "JobRemoved", on_job_removed, this);
        if (r < 0) return fail(Errc::io, std::string("systemd: watch JobRemoved: ") + std::strerror(-r));
        slot_.reset(slot);
        BusError err;
        r = sd_bus_call_method(bus_.get(), dest, path, mgr, "Subscribe", &err.e, nullptr, "");
        if (r < 0) return fail(Errc::io, "systemd: Subscribe: " + err.text(r));
        return {};
    }

    Status reload_daemon() override {
        BusError err;
        // Reload answers once systemd has re-read every unit file.
        int r = sd_bus_call_method(bus_.get(), dest, path, mgr, "Reload", &err.e, nullptr, "");
        if (r < 0) return fail(Errc::io, "systemd: daemon-reload: " + err.text(r));
        return {};
    }

    Status enable(const std::vector<std::string> &units) override { return unit_files("EnableUnitFiles", units, true); }
    Status disable(const std::vector<std::string> &units) override { return unit_files("DisableUnitFiles", units, false); }

    Status start(const std::string &u) override { return job("StartUnit", u, "start"); }
    Status stop(const std::string &u) override { return job("StopUnit", u, "stop"); }
    Status restart(const std::string &u) override { return job("RestartUnit", u, "restart"); }
    Status reload(const std::string &u) override { return job("ReloadUnit", u, "reload"); }

    Result<UnitState> state(const std::string &unit) override {
        BusError err;
        sd_bus_message *raw = nullptr;
        int r = sd_bus_call_method(bus_.get(), dest, path, mgr, "LoadUnit", &err.e, &raw, "s", unit.c_str());
        msg_ptr reply(raw);
        if (r < 0) return fail(Errc::io, "systemd: unit " + unit + ": " + err.text(r));
        const char *obj = nullptr;
        if ((r = sd_bus_message_read(reply.get(), "o", &obj)) < 0)
            return fail(Errc::io, "systemd: unit " + unit + ": bad LoadUnit reply");
        UnitState st;
        auto prop = [&](const char *iface, const char *name, std::string &out) -> Status {
            BusError e2;
            char *value = nullptr;
            int rr = sd_bus_get_property_string(bus_.get(), dest, obj, iface, name, &e2.e, &value);
            if (rr < 0) return fail(Errc::io, "systemd: unit " + unit + ": " + name + ": " + e2.text(rr));
            out = value;
            free(value);
            return {};
        };
        FJORD_TRY(prop("org.freedesktop.systemd1.Unit", "LoadState", st.load));
        FJORD_TRY(prop("org.freedesktop.systemd1.Unit", "ActiveState", st.active));
        FJORD_TRY(prop("org.freedesktop.systemd1.Unit", "SubState", st.sub));
        (void)prop("org.freedesktop.systemd1.Unit", "FragmentPath", st.fragment);
        if (unit.size() > 8 && unit.compare(unit.size() - 8, 8, ".service") == 0)
            (void)prop("org.freedesktop.systemd1.Service", "Result", st.result);
        return st;
    }

  private:
    static int on_job_removed(sd_bus_message *m, void *ud, sd_bus_error *) {
        auto *self = static_cast<BusManager *>(ud);
        std::uint32_t id;
        const char *job = nullptr, *unit = nullptr, *result = nullptr;
        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0) self->done_[job] = result;
        return 0;
    }

    Status unit_files(const char *method, const std::vector<std::string> &units, bool enable) {
        if (units.empty()) return {};
        sd_bus_message *raw = nullptr;
        int r = sd_bus_message_new_method_call(bus_.get(), &raw, dest, path, mgr, method);
        msg_ptr call(raw);
        if (r >= 0) r = sd_bus_message_open_container(call.get(), 'a', "s");
        for (const auto &u : units)
            if (r >= 0) r = sd_bus_message_append(call.get(), "s", u.c_str());
        if (r >= 0) r = sd_bus_message_close_container(call.get());
        // runtime = false (persistent, /etc), and for enable: force = true (replace stale links).
        if (r >= 0) r = enable ? sd_bus_message_append(call.get(), "bb", 0, 1) : sd_bus_message_append(call.get(), "b", 0);
        if (r < 0) return fail(Errc::internal, std::string("systemd: build ") + method);
        BusError err;
        sd_bus_message *rep = nullptr;
        r = sd_bus_call(bus_.get(), call.get(), 0, &err.e, &rep);
        msg_ptr reply(rep);
        std::string names;
        for (const auto &u : units) names += (names.empty() ? "" : " ") + u;
        if (r < 0) return fail(err.code(), std::string("systemd: ") + (enable ? "enable " : "disable ") + names + ": " + err.text(r));
        return {};
    }

    Status job(const char *method, const std::string &unit, const char *verb) {
        BusError err;
        sd_bus_message *raw = nullptr;
        int r = sd_bus_call_method(bus_.get(), dest, path, mgr, method, &err.e, &raw, "ss", unit.c_str(), "replace");
        msg_ptr reply(raw);
        if (r < 0) return fail(err.code(), std::string("systemd: ") + verb + " " + unit + ": " + err.text(r));
        const char *job_path = nullptr;
        if (sd_bus_message_read(reply.get(), "o", &job_path) < 0)
            return fail(Errc::io, std::string("systemd: ") + verb + " " + unit + ": bad reply");
        std::string job = job_path;
        auto deadline = std::chrono::steady_clock::now() + timeout_;
        for (;;) {
            if (auto it = done_.find(job); it != done_.end()) {
                std::string result = it->second;
                done_.erase(it);
                if (result == "done") return {};
                std::string detail;
                if (auto st = state(unit)) detail = " (" + st->active + "/" + st->sub + (st->result.empty() ? "" : ", result " + st->result) + ")";
                return fail(Errc::invalid, "unit " + unit + ": " + verb + " job " + result + detail);
            }
            r = sd_bus_process(bus_.get(), nullptr);
            if (r < 0) return fail(Errc::io, "systemd: lost the bus while waiting for " + unit + ": " + std::strerror(-r));
            if (r > 0) continue;
            std::uint64_t left = left_us(deadline);
            if (left == 0)
                return fail(Errc::invalid, "unit " + unit + ": " + verb + " job did not finish within " +
                                          std::to_string(timeout_.count() / 1000) + " s");
            r = sd_bus_wait(bus_.get(), left);
            if (r < 0) return fail(Errc::io, "systemd: wait: " + std::string(std::strerror(-r)));
        }
    }

    bus_ptr bus_;
    slot_ptr slot_;
    std::chrono::milliseconds timeout_;
    std::map<std::string, std::string> done_; ///< job path -> result, from JobRemoved
};

} // namespace

Result<std::unique_ptr<SystemdManager>> connect_systemd(const std::string &address, std::chrono::milliseconds job_timeout) {
    sd_bus *raw = nullptr;
    int r;
    if (address.empty()) {
        r = sd_bus_open_system(&raw);
    } else {
        r = sd_bus_new(&raw);
        if (r >= 0) r = sd_bus_set_address(raw, address.c_str());
        if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
        if (r >= 0) r = sd_bus_start(raw);
    }
    bus_ptr bus(raw);
    if (r < 0)
        return fail(Errc::io, "systemd: connect to " + (address.empty() ? std::string("the system bus") : address) + ": " +
                                  std::strerror(-r));
    auto m = std::make_unique<BusManager>(std::move(bus), job_timeout);
    FJORD_TRY(m->init());
    return std::unique_ptr<SystemdManager>(std::move(m));
}

} // namespace fjord
