#include "apply/state_check.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"
#include <algorithm>
#include <charconv>
#include <ctime>
#include <set>
#include <unistd.h>

namespace fjord {
namespace {

constexpr const char *repair_hint = "fjordctl repair (it says what it will do; --yes does it)";

// The newest generation whose header says good and whose files can be read, below `below`
// (0: any), other than those in `skip`.
std::uint64_t newest_intact_good(const Store &store, const std::vector<std::uint64_t> &numbers, std::uint64_t below,
                                 const std::set<std::uint64_t> &skip = {}) {
    for (auto it = numbers.rbegin(); it != numbers.rend(); ++it) {
        if ((below && *it >= below) || skip.count(*it)) continue;
        auto info = store.load_info(*it);
        if (!info || info->outcome != Outcome::good) continue;
        if (store.check(*it)) return *it;
    }
    return 0;
}

// What a generation's damage is, or "" when it loads.
std::string damage_of(const Store &store, std::uint64_t n) {
    auto g = store.check(n);
    return g ? std::string() : g.error().message;
}

} // namespace

Journal full_recovery_journal(const Generation &from, const Generation *to) {
    std::set<std::string> paths;
    for (const auto &[p, af] : from.files) paths.insert(p);
    for (const auto &d : from.dirs) paths.insert(d);
    if (to) {
        for (const auto &[p, af] : to->files) paths.insert(p);
        for (const auto &d : to->dirs) paths.insert(d);
    }
    Journal j;
    j.from = from.info.number;
    j.to = to ? to->info.number : from.info.number;
    j.purpose = "recovery of every path";
    j.paths.assign(paths.begin(), paths.end());
    return j;
}

Result<StateCheck> check_state(Store &store, const std::string &commit_hint) {
    StateCheck out;
    auto numbers = store.generation_numbers();
    if (!numbers) return fail(std::move(numbers.error()));

    // Each generation's record is kept twice: the current one's and the pending one's are
    // put right from their sound copy (loads use it anyway; this makes it last).
    if (!numbers->empty()) {
        auto heal = [&](std::uint64_t n) {
            if (store.heal(n)) out.rebuilt.push_back(store.path("generations/" + std::to_string(n)) + ": a damaged copy of its record rewritten from the sound one");
        };
        heal(numbers->back());
        if (auto c = store.current(); c && *c && *c != numbers->back()) heal(*c);
    }

    // `current`: lost or damaged, it is the newest good generation (fjord moves it only to a
    // generation it has just marked good). With no good generation, fjord never applied one.
    auto cur = store.current();
    if (!cur) {
        std::uint64_t m = newest_intact_good(store, *numbers, 0);
        if (m == 0 && std::any_of(numbers->begin(), numbers->end(), [&](auto n) {
                auto i = store.load_info(n);
                return i && i->outcome == Outcome::good;
            })) {
            out.damage = cur.error().message + ", and no good generation can be read to rebuild it";
            out.repair = "start afresh: no generation is current; files fjord wrote stay and are adopted as originals at the next apply";
            return out;
        }
        FJORD_TRY(m ? store.set_current(m) : store.clear_current());
        out.rebuilt.push_back(cur.error().message + "; rebuilt as generation " + std::to_string(m) +
                              (m ? ", the newest good one" : " (no good generation: nothing applied yet)"));
        cur = m;
    } else if (*cur == 0 && ::access(store.path("current").c_str(), F_OK) < 0) {
        std::uint64_t m = newest_intact_good(store, *numbers, 0);
        bool any_good = std::any_of(numbers->begin(), numbers->end(), [&](auto n) {
            auto i = store.load_info(n);
            return i && i->outcome == Outcome::good;
        });
        if (m) {
            FJORD_TRY(store.set_current(m));
            out.rebuilt.push_back(store.path("current") + " was missing; rebuilt as generation " + std::to_string(m) + ", the newest good one");
            cur = m;
        } else if (any_good) {
            out.damage = store.path("current") + " is missing, and no good generation can be read to rebuild it";
            out.repair = "start afresh: no generation is current; files fjord wrote stay and are adopted as originals at the next apply";
            return out;
        }
    }

    // Inside a transaction `current` names the generation it started from, or the one it made
    // once that is marked good (a crash between moving `current` and removing the journal).
    // Anything else is a damaged `current` (a flipped digit naming an older generation, or the
    // pending one): left so, recovery would put the host back to the journal's `from` while
    // fjord goes on from the generation `current` names, and the next apply would adopt as the
    // host's own every file fjord wrote since.
    auto j = store.journal();
    if (j && *j && *cur != (*j)->from) {
        const Journal &t = **j;
        auto to_info = t.to != t.from && *cur == t.to ? store.load_info(t.to) : Result<GenerationInfo>(fail(Errc::not_found, ""));
        bool committed = to_info && to_info->outcome == Outcome::good;
        auto from_info = t.from ? store.load_info(t.from) : Result<GenerationInfo>(fail(Errc::not_found, ""));
        if (!committed && (t.from == 0 || (from_info && from_info->outcome == Outcome::good && store.check(t.from)))) {
            FJORD_TRY(t.from ? store.set_current(t.from) : store.clear_current());
            out.rebuilt.push_back(store.path("current") + " named generation " + std::to_string(*cur) + ", but the unfinished transaction in " +
                                  store.path("journal") + " started from generation " + std::to_string(t.from) + "; set to " +
                                  std::to_string(t.from));
            cur = t.from;
        }
    }

    if (*cur != 0) {
        std::string n = std::to_string(*cur);
        bool present = std::find(numbers->begin(), numbers->end(), *cur) != numbers->end();
        std::string files_damage = present ? damage_of(store, *cur) : "";
        auto info = store.load_info(*cur);
        if (present && !info && files_damage == info.error().message) {
            // Only the header is lost: number, outcome (current is good) and commit come back.
            if (store.load_files(*cur)) {
                GenerationInfo fresh;
                fresh.number = *cur;
                fresh.outcome = Outcome::good;
                fresh.commit = commit_hint;
                fresh.time = std::time(nullptr);
                fresh.message = "header rebuilt after damage";
                FJORD_TRY(store.save_info(fresh));
                out.rebuilt.push_back(info.error().message + "; rebuilt (generation " + n + ", good" +
                                      (commit_hint.empty() ? ", commit unknown" : ", commit " + short_id(commit_hint)) + ")");
                files_damage.clear();
            }
        }
        if (!present || !files_damage.empty()) {
            std::uint64_t m = newest_intact_good(store, *numbers, 0, {*cur});
            out.damage = !present ? store.path("current") + " names generation " + n + ", which is missing from " + store.path("generations")
                                  : files_damage;
            out.repair = m ? "set generation " + n + " aside (generations/" + n + ".broken) and make generation " + std::to_string(m) +
                                 ", the newest intact good one, current; the next sync applies the newest commit over it"
                           : "set generation " + n + " aside and start afresh: files fjord wrote stay and are adopted as originals at the next apply";
            return out;
        }
    }

    // `current` always names the newest good generation: fjord moves it only to a generation
    // it has just marked good, and every later generation is either good (and current) or
    // failed. Outside a transaction (which settles it itself), anything else is a damaged
    // `current` (a flipped digit naming an older or a failed generation).
    if (j && !*j && *cur != 0) {
        std::uint64_t m = newest_intact_good(store, *numbers, 0);
        auto info = store.load_info(*cur);
        if (m && m != *cur && (m > *cur || !info || info->outcome != Outcome::good)) {
            FJORD_TRY(store.set_current(m));
            out.rebuilt.push_back(store.path("current") + " named generation " + std::to_string(*cur) + ", not the newest good one; set to " +
                                  std::to_string(m));
            cur = m;
        }
    }

    // An unfinished transaction: recovery needs the generation it started from.
    if (j && *j && (*j)->from != 0 && (*j)->from != *cur && !store.check((*j)->from)) {
        out.damage = damage_of(store, (*j)->from) + " (the generation the unfinished transaction in " + store.path("journal") + " started from)";
        out.repair = "recover the unfinished transaction towards generation " + std::to_string(*cur) + " instead";
        return out;
    }

    // Small flags: a value that makes no sense is dropped, with a line saying so.
    if (std::string pinned = store.flag("pinned"); !pinned.empty()) {
        std::uint64_t p = 0;
        auto r = std::from_chars(pinned.data(), pinned.data() + pinned.size(), p);
        if (r.ec != std::errc{} || r.ptr != pinned.data() + pinned.size() || std::find(numbers->begin(), numbers->end(), p) == numbers->end()) {
            FJORD_TRY(store.set_flag("pinned", std::to_string(*cur)));
            out.rebuilt.push_back(store.path("pinned") + " named no kept generation; pinned to the current one, " + std::to_string(*cur));
        }
    }
    if (std::string root = store.applied_root(); !root.empty() && root[0] != '/') {
        FJORD_TRY(store.clear_flag("root"));
        out.rebuilt.push_back(store.path("root") + " was damaged; dropped (it is written again from apply.root)");
    }
    return out;
}

Result<std::vector<std::string>> repair_state(Store &store) {
    std::vector<std::string> done;
    auto numbers = store.generation_numbers();
    if (!numbers) return fail(std::move(numbers.error()));
    std::set<std::uint64_t> broken;
    for (auto n : *numbers)
        if (auto d = damage_of(store, n); !d.empty()) {
            FJORD_TRY(store.set_aside(n));
            broken.insert(n);
            done.push_back("set generation " + std::to_string(n) + " aside (" + d + ")");
        }
    std::uint64_t m = newest_intact_good(store, *numbers, 0, broken);
    auto cur = store.current();
    if (!cur || *cur != m || ::access(store.path("current").c_str(), F_OK) < 0) {
        FJORD_TRY(m ? store.set_current(m) : store.clear_current());
        done.push_back(m ? "made generation " + std::to_string(m) + " current (the newest intact good one)"
                         : "no intact good generation: fjord starts afresh (files it wrote stay, adopted as originals at the next apply)");
    }
    // An unfinished transaction whose record is lost or names a generation set aside: every
    // path is put back as the current generation has it.
    auto j = store.journal();
    bool redo = !j || (*j && (broken.count((*j)->from) || broken.count((*j)->to) || (*j)->from != m));
    if (redo && (!j || *j)) {
        auto from = store.load(m);
        if (!from) return fail(std::move(from.error()));
        const Generation *to = nullptr;
        Generation pending;
        if (j && *j && (*j)->to != m && !broken.count((*j)->to))
            if (auto t = store.load((*j)->to)) {
                pending = std::move(*t);
                to = &pending;
            }
        Journal full = full_recovery_journal(*from, to);
        if (j && *j)
            for (const auto &p : (*j)->paths)
                if (std::find(full.paths.begin(), full.paths.end(), p) == full.paths.end()) full.paths.push_back(p);
        FJORD_TRY(store.remove_journal());
        FJORD_TRY(store.write_journal(full));
        done.push_back("the unfinished transaction is recovered towards generation " + std::to_string(m) + " at the next start (" +
                       std::to_string(full.paths.size()) + " paths)");
    }
    if (done.empty()) done.push_back("nothing to repair");
    return done;
}

} // namespace fjord
