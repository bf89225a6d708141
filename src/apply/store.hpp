#pragma once
// The state directory (DESIGN.md §6): generations, the chunks of their files records, the object
// store of adopted originals and rendered content, the intent journal, `current`, the state lock
// and small flags. Every write is tmp -> fsync -> rename -> fsync(dir).
#include "apply/chunks.hpp"
#include "apply/stat_cache.hpp"
#include "plan/generation.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace fjord {

/// The intent of the transaction in flight: enough for recovery to put every path it may have
/// touched back as generation `from` had it.
struct Journal {
    std::uint64_t from = 0; ///< last good generation (0 = none)
    std::uint64_t to = 0;   ///< the generation being applied
    std::string purpose;    ///< "apply", "drift", "rollback"
    std::vector<std::string> paths; ///< every path the transaction may touch, in order
};

/// The state directory.
class Store {
  public:
    /// Opens state.dir, creating it (0700) and its folders when missing.
    [[nodiscard]] static Result<Store> open(const std::string &dir);
    /// Opens an existing state.dir read-only (fjordctl history/status without the daemon).
    [[nodiscard]] static Result<Store> open_existing(const std::string &dir);

    /// The exclusive lock that keeps two fjord processes from applying at once.
    [[nodiscard]] Result<unique_fd> lock() const;

    /// The last good generation number; 0 when fjord never applied anything.
    [[nodiscard]] Result<std::uint64_t> current() const;
    [[nodiscard]] Status set_current(std::uint64_t n);
    /// The number the next generation gets.
    [[nodiscard]] Result<std::uint64_t> next_number() const;
    /// A whole generation; number 0 gives the empty generation.
    [[nodiscard]] Result<Generation> load(std::uint64_t n) const;
    [[nodiscard]] Result<GenerationInfo> load_info(std::uint64_t n) const;
    /// A generation's files, units, containers and checks without its header (info.number is
    /// n): recovery can still tell what it wrote when only its header is damaged.
    [[nodiscard]] Result<Generation> load_files(std::uint64_t n) const;
    /// The error load(n) would give, or none: every record read, checked and parsed as load()
    /// does, without keeping the paths (state checks at start-up ask this of every generation
    /// they consider; at 100,000 paths a loaded generation is ~55 MB).
    [[nodiscard]] Status check(std::uint64_t n) const;
    /// Rewrites the damaged one of a generation's two copies of its header, its files index and
    /// each chunk it uses from the sound one (loads fall back on the copy anyway); true when it did.
    bool heal(std::uint64_t n);
    /// Every generation's header, oldest first (a generation whose header cannot be read is
    /// left out: generation_numbers() has them all).
    [[nodiscard]] Result<std::vector<GenerationInfo>> history() const;
    /// The numbers of every generation folder, readable or not, ascending.
    [[nodiscard]] Result<std::vector<std::uint64_t>> generation_numbers() const;
    /// Moves generation n aside to generations/N.broken (its number is never used again).
    [[nodiscard]] Status set_aside(std::uint64_t n);
    /// Removes `current`: no generation is applied (fjord starts afresh).
    [[nodiscard]] Status clear_current();
    /// Refuses (Errc::not_found) a generation number that is not in the store, saying which are:
    /// "generation 7 is not kept (pruned); kept: 3, 12-31", "generation 40 does not exist
    /// (the newest is 31); kept: 12-31". For rollback GEN, before load(GEN).
    [[nodiscard]] Status check_kept(std::uint64_t n) const;
    /// Drops what reading generations keeps in memory (the chunks of the last record read, kept
    /// for the next read and the prune after a save): an idle daemon holds none of it.
    void release_memory() const { chunks_.forget(); }
    /// Writes generation N: the chunks of its files record not yet stored (apply/chunks.hpp),
    /// then its files index and header, each sealed (util/hash.hpp) and twice (NAME and
    /// NAME.copy): damage at rest is told from content, and one damaged copy loses nothing. It
    /// costs in proportion to what changed since the chunks already stored, not to its paths.
    /// `chunks_written` (tests, measurements): the number of chunk files written is added.
    [[nodiscard]] Status save(const Generation &g, std::size_t *chunks_written = nullptr);
    [[nodiscard]] Status save_info(const GenerationInfo &info);
    /// Removes the oldest generations beyond `keep` (never `current` or `pinned`), the chunks no
    /// generation left names (read from their indexes) and the objects none names (which reads
    /// every chunk they use: O(paths)). `every` > 1 sweeps objects only when a generation whose
    /// number is a multiple of `every` goes: an apply that prunes drops one generation, so the
    /// daemon pays that read about once in `every` such applies; unused content waits till then.
    [[nodiscard]] Status prune(std::uint32_t keep, std::uint32_t every = 1);

    /// Stores content under its id (0600); a present object is not rewritten. `durable`: fsynced
    /// now; otherwise sync_objects() makes it durable later, once for many objects.
    [[nodiscard]] Status put_object(const std::string &id, std::string_view data, bool durable = true);
    /// Makes every object written since the last call durable (one syncfs, not one fsync each).
    [[nodiscard]] Status sync_objects();
    /// An object's content, checked against its id: a damaged object is Errc::not_found, as a
    /// missing one is, so callers fall back to another copy.
    [[nodiscard]] Result<std::string> get_object(const std::string &id, std::uint64_t max) const;
    [[nodiscard]] bool has_object(const std::string &id) const;

    /// The journal of an unfinished transaction, if any. Errc::corrupt when it is there but
    /// damaged (journals are written whole by rename, so one cut short was damaged at rest).
    [[nodiscard]] Result<std::optional<Journal>> journal() const;
    [[nodiscard]] Status write_journal(const Journal &j);
    [[nodiscard]] Status remove_journal();

    /// Commits that failed and are not retried until a newer commit arrives, each with why.
    [[nodiscard]] std::map<std::string, std::string> bad_commits() const;
    [[nodiscard]] Status mark_bad(const std::string &commit, const std::string &why = "");
    [[nodiscard]] Status clear_bad(const std::string &commit);

    /// fjordctl suspend: automatic applies stop (polling and status go on).
    [[nodiscard]] Status suspend();
    /// After a rollback by hand (fjordctl rollback): automatic applies stop, the host stays on
    /// `generation`, which is never pruned.
    [[nodiscard]] Status pin(std::uint64_t generation);
    /// fjordctl resume: applies go on again; lifts a suspension, a rollback's pin, a halt and
    /// the attempt counter.
    [[nodiscard]] Status resume();

    /// A small flag file's text ("" when absent): suspended, pinned.
    [[nodiscard]] std::string flag(const std::string &name) const;
    [[nodiscard]] Status set_flag(const std::string &name, const std::string &value);
    [[nodiscard]] Status clear_flag(const std::string &name);

    /// The apply.root the generations were applied to ("" when not recorded; a path-less
    /// "(damaged)" when its file was damaged), sealed so that a cut-short path is not taken
    /// for another root.
    [[nodiscard]] std::string applied_root() const;
    [[nodiscard]] Status set_applied_root(const std::string &root);

    /// The stat cache; empty when it is missing, damaged or of an older format (the next drift
    /// pass hashes every file then, and writes it again).
    [[nodiscard]] StatCache load_stat_cache() const;
    /// Writes the stat cache when it changed since it was read (otherwise nothing: a drift pass
    /// that found nothing new writes nothing).
    [[nodiscard]] Status save_stat_cache(StatCache &cache);

    [[nodiscard]] const std::string &dir() const { return dir_; }
    [[nodiscard]] std::string path(const std::string &name) const { return dir_ + "/" + name; }

  private:
    explicit Store(std::string dir) : dir_(std::move(dir)), chunks_(dir_ + "/chunks") {}
    [[nodiscard]] std::string gen_dir(std::uint64_t n) const;
    [[nodiscard]] Result<Generation> files_of(std::uint64_t n, bool keep_paths) const;
    [[nodiscard]] std::string object_path(const std::string &id) const;
    std::string dir_;
    ChunkDir chunks_;
    bool objects_dirty_ = false; ///< objects written without fsync since the last sync_objects()
};

} // namespace fjord
