#include "apply/unit_steps.hpp"

namespace fjord {

Status run_unit_steps(SystemdManager &sd, const std::vector<UnitStep> &steps) {
    // Consecutive enables (and disables) go to systemd as one call, as systemctl does.
    for (std::size_t i = 0; i < steps.size();) {
        const UnitStep &s = steps[i];
        if (s.kind == UnitStep::enable || s.kind == UnitStep::disable) {
            std::vector<std::string> batch;
            std::size_t j = i;
            for (; j < steps.size() && steps[j].kind == s.kind; ++j) batch.push_back(steps[j].unit);
            FJORD_TRY(s.kind == UnitStep::enable ? sd.enable(batch) : sd.disable(batch));
            i = j;
            continue;
        }
        Status r;
        switch (s.kind) {
        case UnitStep::stop: r = sd.stop(s.unit); break;
        case UnitStep::start: r = sd.start(s.unit); break;
        case UnitStep::restart: r = sd.restart(s.unit); break;
        case UnitStep::reload: r = sd.reload(s.unit); break;
        default: break;
        }
        if (!r) return r;
        ++i;
    }
    return {};
}

} // namespace fjord
