// The unit planner (plan/units.hpp): which systemd steps take one generation to the next.
#include "plan/units.hpp"

#include <algorithm>
#include <doctest/doctest.h>

using namespace fjord;

TEST_CASE("units: a rollback converges every unit to what the restored generation asks") {
    Generation prev, next;
    UnitSpec web, worker, batch;
    web.name = "web.service";
    worker.name = "worker.service";
    batch.name = "batch.service";
    batch.state = "stopped";
    batch.enable = false;
    for (auto *g : {&prev, &next})
        for (const auto *u : {&web, &worker, &batch}) g->units[u->name] = *u;
    // Nothing changed between the two: an apply does nothing...
    CHECK(plan_units(prev, next, {}).empty());
    // ...a rollback makes sure: started ones run (and are enabled), stopped ones are stopped.
    auto back = plan_units(prev, next, {}, true);
    std::vector<UnitStep> want = {{UnitStep::enable, "web.service"},  {UnitStep::enable, "worker.service"},
                                  {UnitStep::stop, "batch.service"},  {UnitStep::start, "web.service"},
                                  {UnitStep::start, "worker.service"}};
    CHECK(back.after == want);
    // A changed watched file still restarts rather than starts.
    next.units["web.service"].watch = {"/srv/www/**"};
    prev.units["web.service"].watch = {"/srv/www/**"};
    auto changed = plan_units(prev, next, {"/srv/www/index.html"}, true);
    CHECK(std::find(changed.after.begin(), changed.after.end(), UnitStep{UnitStep::restart, "web.service"}) != changed.after.end());
}
