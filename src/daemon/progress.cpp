#include "daemon/progress.hpp"

#include <memory>

namespace fjord {
namespace {

class CountingProbe final : public Probe {
  public:
    struct Shared {
        std::size_t passing = 0, total = 0;
        std::function<void(std::size_t, std::size_t)> report;
    };
    CountingProbe(std::unique_ptr<Probe> inner, std::shared_ptr<Shared> shared)
        : inner_(std::move(inner)), shared_(std::move(shared)) {}
    std::string target() const override { return inner_->target(); }
    ProbeResult run(std::chrono::milliseconds timeout) override {
        ProbeResult r = inner_->run(timeout);
        if (r.ok && !passed_) {
            passed_ = true;
            ++shared_->passing;
            if (shared_->report) shared_->report(shared_->passing, shared_->total);
        }
        return r;
    }

  private:
    std::unique_ptr<Probe> inner_;
    std::shared_ptr<Shared> shared_;
    bool passed_ = false;
};

} // namespace

void count_passing_checks(std::vector<Check> &checks, std::function<void(std::size_t, std::size_t)> report) {
    auto shared = std::make_shared<CountingProbe::Shared>();
    shared->total = checks.size();
    shared->report = std::move(report);
    for (auto &c : checks) c.probe = std::make_unique<CountingProbe>(std::move(c.probe), shared);
}

std::string change_summary(const Plan &plan, const Generation &prev, std::size_t units_restarted) {
    std::size_t added = 0, changed = 0, removed = 0;
    for (const auto &a : plan.actions) {
        if (a.kind == ActionKind::write) (prev.files.count(a.path) ? changed : added)++;
        else if (a.kind == ActionKind::remove || a.kind == ActionKind::restore) ++removed;
    }
    return "+" + std::to_string(added) + " ~" + std::to_string(changed) + " -" + std::to_string(removed) + ", " +
           std::to_string(units_restarted) + (units_restarted == 1 ? " unit" : " units");
}

std::string checks_passed(const std::vector<Check> &checks, std::size_t defined) {
    auto count = [](std::size_t n, const char *one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); };
    if (defined > 0) return count(checks.size(), "health check") + " passed";
    if (checks.empty()) return "no health check defined";
    std::string names;
    for (const auto &c : checks) names += (names.empty() ? "" : ", ") + c.name;
    return "no health check defined; " + count(checks.size(), "built-in check") + " passed: " + names;
}

} // namespace fjord
