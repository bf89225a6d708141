#pragma once
// The plan: what must change on the host to go from the last applied generation to a desired
// state. Pure: the live host is seen only through HostProbe, so tests use a fake.
#include "manifest/desired_state.hpp"
#include "manifest/render.hpp"
#include "plan/generation.hpp"
#include "plan/units.hpp"
#include "util/result.hpp"
#include <string>
#include <vector>

namespace fjord {

/// What a host path is now.
enum class LiveKind { absent, file, symlink, dir, other };

/// Looks at the live host (under apply.root) without changing it.
class HostProbe {
  public:
    virtual ~HostProbe() = default;
    /// What `path` is on the host; an error when it cannot be looked at (a symlinked parent).
    [[nodiscard]] virtual Result<LiveKind> kind(const std::string &path) const = 0;
};

enum class ActionKind {
    remove,  ///< delete a file fjord created and Git dropped
    restore, ///< put back the original of an adopted file Git dropped
    rmdir,   ///< remove a folder fjord created that nothing needs now (when empty)
    mkdir,   ///< create a missing folder
    write,   ///< write a file or symlink (adopting the live original first when `adopt`)
};

/// One step of a plan.
struct Action {
    ActionKind kind;
    std::string path;
    bool adopt = false; ///< write: a path fjord did not create exists; keep its original first
};

/// A plan and the generation it leads to.
struct Plan {
    Generation next;              ///< files and dirs after the plan ran (originals of adoptions filled by apply)
    std::vector<Action> actions;  ///< in the order they run
    std::size_t deletions = 0;    ///< files that disappear from the host
    std::size_t writes = 0, restores = 0;
    bool units_changed = false;   ///< a unit was added, dropped or asks systemd for something new
    bool checks_changed = false;  ///< the [[check]]s or [[hook]]s differ: a new generation keeps them
    UnitPlan units;               ///< the systemd steps (plan/units.hpp), computed once with the plan
    std::vector<ContainerStep> containers; ///< containers created, replaced or removed
    std::size_t container_removals = 0;    ///< containers that disappear (counted by apply.max_deletions)

    /// Nothing to do on the host.
    [[nodiscard]] bool empty() const { return actions.empty() && !units_changed && !checks_changed && containers.empty(); }
};

struct PlanOptions {
    bool prune = true; ///< apply.prune: remove what fjord created and Git no longer has
    std::vector<std::string> protect; ///< apply.protect: never written or removed (also checked at render)
    std::vector<std::string> own;     ///< fjord's own paths (RenderOptions::own): never written or removed
    /// Rollback to an older generation: its containers' pinned images, reused where the spec matches.
    const std::map<std::string, AppliedContainer> *pinned_containers = nullptr;
    /// Paths written even when unchanged since `prev`: drift the drift pass could not correct
    /// (their content was lost), which the new commit's content puts right.
    std::set<std::string> rewrite = {};
    /// A rollback: every unit is brought to what `next` asks, changed or not (plan/units.hpp).
    bool converge_units = false;
};

/// Diffs `desired` against the last applied generation `prev` and the live host. Only paths
/// new to fjord are probed on the host; unchanged paths cost a map lookup.
[[nodiscard]] Result<Plan> make_plan(const Generation &prev, const DesiredState &desired, const HostProbe &host,
                                     const PlanOptions &opts);
/// The same, taking the file specs out of `desired` into plan.next (moved, not copied):
/// `desired.files` is left empty, the rest of it as it was. What reads the files after
/// planning reads plan.next (the specs are the same).
[[nodiscard]] Result<Plan> make_plan(const Generation &prev, DesiredState &&desired, const HostProbe &host,
                                     const PlanOptions &opts);

/// The checks complete_partial (manifest/validate.hpp) makes on a partial render, made against
/// the base it is planned on (`base`: the current generation, the render's base) without
/// copying the base's specs into `d`: apply.max_files over the whole set; a file or link where
/// another path needs a folder, and links through managed links, wherever a path the render
/// gave is involved (the base's other paths passed them together when it was made). `d` stays
/// partial: make_plan takes the base's untouched paths from `prev`.
[[nodiscard]] Status check_partial(const DesiredState &d, const Generation &base, const RenderOptions &opts);

/// The plan's guardrail and consistency rules, refused even when nothing else changes (and in a
/// dry run) so the operator hears of them: more deletions (files, and containers, which go with
/// whatever they held) than `limit` (apply.max_deletions = `configured`, or sync
/// --allow-deletions) is Errc::guardrail; a check naming a container the generation lacks is
/// Errc::invalid.
[[nodiscard]] Status check_plan(const Plan &plan, const DesiredState &desired, std::uint32_t limit, std::uint32_t configured);

/// One line per action, as `fjordctl diff` shows it ("+ /etc/x", "~ /etc/y", "- /etc/z").
[[nodiscard]] std::string describe(const Plan &plan, const Generation &prev);

} // namespace fjord
