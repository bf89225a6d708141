#include "manifest/file_patches.hpp"

#include <fnmatch.h>
#include <map>

namespace fjord {

bool is_file_pattern(std::string_view key) { return key.find_first_of("*?[") != std::string_view::npos; }

void merge_patch(FilePatch &acc, const FilePatch &p) {
    if (p.mode) {
        acc.mode = p.mode;
        acc.mode_text = p.mode_text;
        acc.mode_where = p.mode_where;
    }
    if (p.owner) acc.owner = p.owner;
    if (p.group) acc.group = p.group;
    if (p.validate) acc.validate = p.validate;
    acc.where = p.where;
}

Result<FilePatch> settle_patch(const std::string &path, bool symlink, const std::vector<PatternPatch> &patterns,
                               const FilePatch *exact) {
    FilePatch acc;
    // Per key: the folder and table that set it so far, to find two patterns of one folder
    // that disagree.
    struct Setter {
        std::size_t folder;
        const PatternPatch *by;
    };
    std::map<std::string, Setter> set;
    auto take = [&](const char *key, bool has, bool exact_has, bool same, const PatternPatch &pp) -> Status {
        if (!has || exact_has) return {};
        auto it = set.find(key);
        if (it != set.end() && it->second.folder == pp.folder && !same)
            return fail(Errc::invalid, pp.patch.where + " and " + it->second.by->patch.where + " both match " + path +
                                           " and set " + key + " differently; narrow one pattern, or set " + key +
                                           " in [file.\"" + path + "\"]");
        set[key] = {pp.folder, &pp};
        return {};
    };
    for (const auto &pp : patterns) {
        if (::fnmatch(pp.pattern.c_str(), path.c_str(), 0) != 0) continue;
        FilePatch p = pp.patch;
        if (symlink) {
            p.mode.reset();
            p.validate.reset();
        }
        FJORD_TRY(take("mode", p.mode.has_value(), exact && exact->mode, acc.mode == p.mode, pp));
        FJORD_TRY(take("owner", p.owner.has_value(), exact && exact->owner, acc.owner == p.owner, pp));
        FJORD_TRY(take("group", p.group.has_value(), exact && exact->group, acc.group == p.group, pp));
        FJORD_TRY(take("validate", p.validate.has_value(), exact && exact->validate, acc.validate == p.validate, pp));
        merge_patch(acc, p);
    }
    if (exact) merge_patch(acc, *exact);
    return acc;
}

} // namespace fjord
