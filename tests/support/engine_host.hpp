#pragma once
// A host for the engine's unit tests, ninja-style: the real engine, store and transaction on a
// temp folder, and fakes for everything outside it — Git (scripted commits), systemd, podman,
// probes, the clock, the registries, host facts and the webhooks. Runs as an ordinary user.
#include "daemon/engine.hpp"
#include <doctest/doctest.h>
#include "daemon/notify.hpp"
#include "fake_clock.hpp"
#include "fake_podman.hpp"
#include "fake_registry.hpp"
#include "fake_repo.hpp"
#include "fake_systemd.hpp"
#include "temp_dir.hpp"
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord::test {

/// A probe answering from a script (the last answer repeats).
class ScriptedProbe final : public Probe {
  public:
    explicit ScriptedProbe(std::deque<bool> script) : script_(std::move(script)) {}
    std::string target() const override { return "fake://probe"; }
    ProbeResult run(std::chrono::milliseconds) override {
        bool ok = script_.empty() || script_.front();
        if (script_.size() > 1) script_.pop_front();
        return {ok, ok ? "fine" : "status 500, want 200"};
    }

  private:
    std::deque<bool> script_;
};

struct EngineHost {
    TempDir dir;
    FakeRepo repo;
    FakeSystemd systemd;
    FakePodman podman;
    FakeClock clock;
    FakeRegistry registry;
    std::map<std::string, std::deque<bool>> probes; ///< by [[check]] name; absent: passes
    std::vector<std::string> sent;                  ///< webhook bodies, in order
    std::mutex sent_mutex;
    bool units_active = false;                      ///< systemd is asked (else unit files are only written)
    std::map<std::string, std::string> status_refs; ///< the status repo's refs (ref -> id), for the wave gate
    std::optional<Error> status_error;              ///< the status repo cannot be listed
    std::vector<std::vector<std::string>> listings; ///< the prefixes of each gate check, in order
    std::int64_t wall = 1'000'000;                  ///< the wave gate's clock (unix seconds)
    Config cfg;
    std::unique_ptr<Engine> engine;

    EngineHost() {
        cfg.file = dir.path + "/fjord.toml";
        cfg.source.url = "git://fake/fleet";
        cfg.source.poll_interval = Duration(60'000);
        cfg.apply.root = dir.path + "/root";
        cfg.state.dir = dir.path + "/state";
        cfg.secrets.identity = dir.path + "/state/age/identity";
        cfg.metrics_textfile = "";
        cfg.notify = {NotifyConfig{"http://receiver.invalid/", {"applied", "rolled_back", "failed", "drift", "refused"}, NotifyFormat::json, ""}};
        ::mkdir(cfg.apply.root.c_str(), 0755);
    }
    ~EngineHost() { engine.reset(); }

    Ports ports() {
        Ports p;
        p.repo = [this](const SourceConfig &, const std::string &) { return std::make_unique<RepoProxy>(repo); };
        p.systemd = [this](const Config &) -> Result<std::unique_ptr<SystemdManager>> {
            if (!units_active) return std::unique_ptr<SystemdManager>();
            return std::unique_ptr<SystemdManager>(std::make_unique<SystemdProxy>(systemd));
        };
        p.podman = [this](const Config &) { return std::make_unique<PodmanProxy>(podman); };
        p.probes = [this](const CheckSpec &c) -> std::unique_ptr<Probe> {
            auto it = probes.find(c.name);
            return std::make_unique<ScriptedProbe>(it == probes.end() ? std::deque<bool>{true} : it->second);
        };
        p.clock = [this]() -> Clock & { return clock; };
        p.registry = [this](const Config &) -> Result<std::unique_ptr<RegistryClient>> {
            return std::unique_ptr<RegistryClient>(std::make_unique<RegistryProxy>(registry));
        };
        p.facts = [] {
            VarTable f;
            set_var(f, "host.name", VarValue::string("web1"));
            return f;
        };
        p.ls_refs = [this](const fleet::LsRefsRequest &req) -> Result<fleet::LsRefsAnswer> {
            listings.push_back(req.prefixes);
            if (status_error) return fail(*status_error);
            fleet::LsRefsAnswer a;
            for (const auto &[ref, id] : status_refs)
                for (const auto &pre : req.prefixes)
                    if (ref.rfind(pre, 0) == 0) a.refs[ref] = id;
            return a;
        };
        p.now = [this] { return wall; };
        p.notifier = [this](const Config &c) {
            NotifyOptions o;
            o.attempts = 1;
            return std::make_unique<Notifier>(c.notify, o, [this](const NotifyRequest &req, auto, auto &) {
                std::lock_guard<std::mutex> l(sent_mutex);
                sent.push_back(req.body);
                return SendResult{true, false, "HTTP 200"};
            }, "web1");
        };
        return p;
    }

    /// Opens (or opens again, as after a restart) the engine.
    Engine &open() {
        engine.reset();
        if (units_active) cfg.systemd.bus = "unix:path=/fake";
        auto e = Engine::open(cfg, ports());
        REQUIRE_MESSAGE(e, e.error().message);
        engine = std::move(*e);
        return *engine;
    }
    SyncResult sync(SyncOptions o = {}) {
        if (!engine) open();
        return engine->sync(o);
    }
    /// The webhook events sent so far (the engine is closed first, so that all are delivered).
    std::vector<std::string> events() {
        engine.reset();
        std::vector<std::string> out;
        std::lock_guard<std::mutex> l(sent_mutex);
        for (const auto &b : sent) {
            auto at = b.find("\"event\":\"");
            if (at != std::string::npos) out.push_back(b.substr(at + 9, b.find('"', at + 9) - at - 9));
        }
        return out;
    }

    std::string root(const std::string &p) const { return cfg.apply.root + p; }
    std::string read(const std::string &p) const {
        std::ifstream f(root(p), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }
    bool exists(const std::string &p) const { return ::access(root(p).c_str(), F_OK) == 0; }
    std::string state(const std::string &p) const { return cfg.state.dir + "/" + p; }

    /// A desired state of files.
    DesiredState files(std::initializer_list<std::pair<std::string, std::string>> fs) {
        DesiredState d;
        for (const auto &[p, c] : fs) d.files.emplace(p, repo.file(p, c));
        return d;
    }

  private:
    struct SystemdProxy final : SystemdManager {
        explicit SystemdProxy(FakeSystemd &f) : f(f) {}
        FakeSystemd &f;
        Status reload_daemon() override { return f.reload_daemon(); }
        Status enable(const std::vector<std::string> &u) override { return f.enable(u); }
        Status disable(const std::vector<std::string> &u) override { return f.disable(u); }
        Status start(const std::string &u) override { return f.start(u); }
        Status stop(const std::string &u) override { return f.stop(u); }
        Status restart(const std::string &u) override { return f.restart(u); }
        Status reload(const std::string &u) override { return f.reload(u); }
        Result<UnitState> state(const std::string &u) override { return f.state(u); }
    };
    struct PodmanProxy final : Podman {
        explicit PodmanProxy(FakePodman &f) : f(f) {}
        FakePodman &f;
        Status pull(const std::string &r) override { return f.pull(r); }
        Result<std::optional<PodmanImage>> image(const std::string &r) override { return f.image(r); }
        Result<std::optional<PodmanContainer>> inspect(const std::string &n) override { return f.inspect(n); }
        Status create(const PodmanCreate &c) override { return f.create(c); }
        Status start(const std::string &n) override { return f.start(n); }
        Status stop(const std::string &n) override { return f.stop(n); }
        Status remove(const std::string &n) override { return f.remove(n); }
        Status rename(const std::string &a, const std::string &b) override { return f.rename(a, b); }
        Result<std::string> healthcheck(const std::string &n) override { return f.healthcheck(n); }
    };
    struct RegistryProxy final : RegistryClient {
        explicit RegistryProxy(FakeRegistry &f) : f(f) {}
        FakeRegistry &f;
        Result<std::vector<std::string>> list_tags(const ImageRef &r) override { return f.list_tags(r); }
        Result<std::string> manifest_digest(const ImageRef &r, const std::string &t) override { return f.manifest_digest(r, t); }
    };
};

} // namespace fjord::test
