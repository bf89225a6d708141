#pragma once
// One transaction: the host goes from generation N to N+1 completely, or stays at N. The new
// generation and the originals it adopts are stored and an intent journal is made durable before
// the first change; any failure (or a crash, at the next start) reverses every path the journal
// names to generation N.
#include "host/podman.hpp"
#include "apply/rooted_fs.hpp"
#include "apply/store.hpp"
#include "host/systemd.hpp"
#include "plan/plan.hpp"
#include "util/tree.hpp"
#include <functional>

namespace fjord {

/// What a transaction works with.
struct ApplyContext {
    Store &store;
    RootedFs &fs;
    /// The Git cache: content by blob id, for content not yet in the object store (a new
    /// commit's). Null when it is not needed or not there: stored content suffices.
    const BlobReader *repo = nullptr;
    std::uint64_t max_file_size = 64ull << 20;
    SystemdManager *systemd = nullptr;   ///< null: unit files are written but not activated
    /// Asked only when a generation involved has containers (hosts without podman never are).
    Podman *podman = nullptr;
    /// Decrypts a secret's ciphertext (read from `repo` by its id) with the host identity, for
    /// every write of a secret: apply, rollback, drift correction and recovery alike, since
    /// the store never holds a secret's plaintext. Unset: secrets are refused.
    std::function<Result<std::string>(std::string_view ciphertext, const std::string &origin)> decrypt = {};
    /// Encrypts to the host's own recipient. What a secret's path held before fjord adopted it
    /// is most likely that secret's earlier plaintext, so that original is stored sealed.
    std::function<Result<std::string>(std::string_view plaintext)> seal = {};
};

/// What an apply did.
struct ApplyReport {
    std::uint64_t generation = 0;
    std::size_t written = 0, removed = 0, restored = 0;
    std::size_t containers = 0; ///< containers created, replaced or removed
    StampMap stamps; ///< stat of every file written, for the drift pass
};

/// Runs `plan` (made against `prev`) as generation plan.next.info.number. `desired` supplies
/// rendered content; `verify` (health checks) runs after the changes and before the commit —
/// its failure reverses the transaction like any other. On failure the generation is recorded
/// as rolled back with the reason, and the error is returned.
[[nodiscard]] Result<ApplyReport> apply_plan(ApplyContext &ctx, const Generation &prev, Plan &plan,
                                             const DesiredState &desired, const std::function<Status()> &verify = {});

/// Puts every path the journal names back as generation j.from had it, removes temp files and
/// the folders the transaction made, records generation j.to as rolled back (unless it was
/// already committed) and removes the journal. `units_ran` false: the transaction failed
/// before it started, restarted or reloaded any unit (a pre_restart failed), so none is
/// restarted or reloaded on the way back either.
/// When generation j.to's record cannot be read, paths generation j.from does not hold are left
/// as they are (fjord cannot tell whether it made them or adopted them); so are paths whose
/// content is lost (in neither the object store nor the Git cache). Both are added to
/// `left_alone` when given: recovery never stops on what retrying cannot bring back.
[[nodiscard]] Status recover(ApplyContext &ctx, const Journal &j, bool units_ran = true,
                             std::vector<std::string> *left_alone = nullptr);

/// Makes `paths` match generation `gen` again (drift correction), as its own small transaction.
[[nodiscard]] Result<StampMap> restore_paths(ApplyContext &ctx, const Generation &gen,
                                              const std::vector<std::string> &paths);

/// Content by id: fjord's object store first (checked against its id), else the Git cache
/// (null: not asked), whose content is then stored too. Errc::not_found when neither has it.
[[nodiscard]] Result<std::string> stored_content(Store &store, const BlobReader *repo, const std::string &id, std::uint64_t max);

/// uid and gid of user and group names (from this host's user database).
[[nodiscard]] Result<std::pair<uid_t, gid_t>> resolve_owner(const std::string &owner, const std::string &group);

} // namespace fjord
