#include "health/probes.hpp"

#include "plan/units.hpp"
#include "util/command.hpp"
#include "util/deadline.hpp"
#include "util/unique_fd.hpp"
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fjord {
namespace {

using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

class TcpProbe final : public Probe {
  public:
    explicit TcpProbe(std::string hp) : hp_(std::move(hp)) {}
    std::string target() const override { return "tcp " + hp_; }
    ProbeResult run(ms timeout) override {
        auto colon = hp_.rfind(':');
        if (colon == std::string::npos || colon == 0) return {false, "want host:port"};
        std::string host = hp_.substr(0, colon), port = hp_.substr(colon + 1);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo *res = nullptr;
        if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
            return {false, std::string("resolve: ") + ::gai_strerror(rc)};
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(res, ::freeaddrinfo);
        auto deadline = steady::now() + timeout;
        std::string why = "no address";
        for (addrinfo *a = res; a; a = a->ai_next) {
            unique_fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
            if (!fd) return {false, std::string("socket: ") + std::strerror(errno)};
            if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return {true, "connected"};
            if (errno != EINPROGRESS) {
                why = std::strerror(errno);
                continue;
            }
            pollfd p{fd.get(), POLLOUT, 0};
            int n = ::poll(&p, 1, left_ms(deadline));
            if (n == 0) return {false, "connect timed out after " + std::to_string(timeout.count()) + " ms"};
            int err = 0;
            socklen_t len = sizeof err;
            if (n < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            if (err == 0) return {true, "connected"};
            why = std::strerror(err);
        }
        return {false, "connect: " + why};
    }

  private:
    std::string hp_;
};

constexpr std::size_t max_output = 2048; // enough to say why in a log line

std::string tidy(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (char &c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

class ExecProbe final : public Probe {
  public:
    ExecProbe(std::vector<std::string> argv, ExecCheckContext ctx) : argv_(std::move(argv)), ctx_(std::move(ctx)) {}
    std::string target() const override {
        std::string t = "exec";
        for (const auto &a : argv_) t += " " + a;
        return t;
    }
    ProbeResult run(ms timeout) override {
        Command cmd;
        cmd.argv = argv_;
        cmd.timeout = timeout;
        cmd.max_output = max_output;
        cmd.env = ctx_.env;
        auto r = run_command(cmd);
        if (!r) return {false, r.error().message};
        if (ctx_.hide_output) return {r->ok(), r->status() + (r->output.empty() ? "" : std::string(" (") + secret_output_hidden + ")")};
        std::string out = tidy(r->shown_output());
        return {r->ok(), r->status() + (out.empty() ? "" : ": " + out)};
    }

  private:
    std::vector<std::string> argv_;
    ExecCheckContext ctx_;
};

class UnitProbe final : public Probe {
  public:
    UnitProbe(SystemdManager &sd, std::string unit) : sd_(sd), unit_(std::move(unit)) {}
    std::string target() const override { return "unit " + unit_; }
    ProbeResult run(ms) override {
        auto s = sd_.state(unit_);
        if (!s) return {false, s.error().message};
        bool ok_result = s->result.empty() || s->result == "success";
        std::string what = "ActiveState " + s->active + " (SubState " + s->sub + (s->result.empty() ? "" : ", Result " + s->result) + ")";
        if (s->load != "loaded") return {false, "LoadState " + s->load};
        if (s->active == "active" && ok_result) return {true, what};
        // A oneshot without RemainAfterExit is inactive once it has run; it passes when it succeeded.
        if (s->active == "inactive" && s->sub == "dead" && s->result == "success") return {true, what};
        return {false, what};
    }

  private:
    SystemdManager &sd_;
    std::string unit_;
};

class FunctionProbe final : public Probe {
  public:
    FunctionProbe(std::string target, std::function<ProbeResult(ms)> f) : target_(std::move(target)), f_(std::move(f)) {}
    std::string target() const override { return target_; }
    ProbeResult run(ms timeout) override { return f_(timeout); }

  private:
    std::string target_;
    std::function<ProbeResult(ms)> f_;
};

} // namespace

std::unique_ptr<Probe> function_probe(std::string target, std::function<ProbeResult(ms)> f) {
    return std::make_unique<FunctionProbe>(std::move(target), std::move(f));
}

std::unique_ptr<Probe> tcp_probe(std::string host_port) { return std::make_unique<TcpProbe>(std::move(host_port)); }
std::unique_ptr<Probe> exec_probe(std::vector<std::string> argv, ExecCheckContext ctx) {
    return std::make_unique<ExecProbe>(std::move(argv), std::move(ctx));
}
std::unique_ptr<Probe> unit_probe(SystemdManager &sd, std::string unit) { return std::make_unique<UnitProbe>(sd, std::move(unit)); }

std::vector<std::string> units_started(const Plan &plan) {
    std::vector<std::string> units;
    for (const auto &s : plan.units.after)
        if (s.kind == UnitStep::start || s.kind == UnitStep::restart) units.push_back(s.unit);
    return units;
}

Result<std::vector<Check>> build_checks(const std::vector<CheckSpec> &specs, SystemdManager *sd,
                                        const std::vector<std::string> &implicit_units, Podman *podman,
                                        const std::map<std::string, AppliedContainer> *containers, const ExecCheckContext &exec,
                                        const ProbeFactory &probes) {
    std::vector<Check> checks;
    for (const auto &s : specs) {
        Check c;
        c.name = s.name;
        c.initial_delay = ms(s.initial_delay_ms);
        c.period = ms(s.period_ms);
        c.timeout = ms(s.timeout_ms);
        c.failure_threshold = s.failure_threshold < 1 ? 1 : s.failure_threshold;
        if ((!s.http.empty() || !s.tcp.empty() || !s.exec.empty()) && probes) c.probe = probes(s);
        if (c.probe) {
        } else if (!s.http.empty()) c.probe = http_probe(s.http, static_cast<long>(s.expect_status), s.expect_body);
        else if (!s.tcp.empty()) c.probe = tcp_probe(s.tcp);
        else if (!s.exec.empty()) c.probe = exec_probe(s.exec, exec);
        else if (!s.unit.empty()) {
            if (!sd)
                return fail(Errc::invalid, "check " + s.name + ": unit " + s.unit +
                                               ": units are not activated here (no systemd.bus set), so a unit check cannot pass");
            c.probe = unit_probe(*sd, s.unit);
        } else if (!s.container.empty()) {
            auto it = containers ? containers->find(s.container) : decltype(containers->end()){};
            if (!containers || it == containers->end())
                return fail(Errc::invalid, "check " + s.name + ": container " + s.container + ": no such container in this generation");
            if (!podman) return fail(Errc::invalid, "check " + s.name + ": container " + s.container + ": no podman to ask");
            c.probe = container_probe(*podman, s.container, it->second.spec.healthcheck.has_value());
        } else
            return fail(Errc::invalid, "check " + s.name + ": no http, tcp, exec, unit or container");
        checks.push_back(std::move(c));
    }
    if (!sd) return checks;
    for (const auto &u : implicit_units) {
        bool named = false;
        for (const auto &s : specs) named = named || s.unit == u;
        if (named) continue;
        // A unit that dies right after its start job must be caught: look a second later too.
        Check c;
        c.name = u;
        c.probe = unit_probe(*sd, u);
        c.initial_delay = ms(1'000);
        c.period = ms(1'000);
        c.timeout = ms(1'000);
        c.failure_threshold = 3;
        checks.push_back(std::move(c));
    }
    return checks;
}

} // namespace fjord
