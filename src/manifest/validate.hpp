#pragma once
// The checks a rendered DesiredState must pass: made by the renderer as it goes, and made again
// by fjordd on what a render child hands it (sandbox/sandbox.hpp), which it does not trust.
#include "manifest/desired_state.hpp"
#include "manifest/render.hpp"
#include "manifest/units.hpp"
#include "util/result.hpp"
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// Escapes control characters, so a hostile name cannot split or forge a one-line message.
[[nodiscard]] std::string printable(std::string_view s);

/// Refuses a host path under (or above) an apply.protect entry or one of fjord's own paths
/// (RenderOptions::own); `origin` names it in errors.
[[nodiscard]] Status check_protect(const std::string &path, const std::string &origin, const std::vector<std::string> &protect,
                                   const std::vector<std::string> &own = {});

/// Refuses a container whose volume's host path is under, equal to or above an apply.protect
/// entry (a bind mount of "/" or "/etc" hands a protected path to the container, read-write).
/// Errors: "ORIGIN: container.NAME: volumes: \"/etc:/x\": /etc is protected (apply.protect has /etc)".
[[nodiscard]] Status check_container_volumes(const ContainerSpec &c, const std::vector<std::string> &protect,
                                             const std::vector<std::string> &own = {});

/// Refuses a host path no Linux filesystem can hold: a name in it over NAME_MAX (255 bytes), or
/// the whole over PATH_MAX less its NUL (4095 bytes). `origin`, the repo path, names it.
[[nodiscard]] Status check_name_limits(const std::string &path, const std::string &origin);

/// Refuses a link target that is absolute or, taken lexically from the link's folder, leaves "/".
[[nodiscard]] Status check_link(const std::string &path, const std::string &target, const std::string &origin);

/// Refuses a symlink whose target walks through another managed symlink as a folder.
[[nodiscard]] Status check_link_chains(const std::map<std::string, FileSpec> &files);
/// The managed symlink that the link at `path` to `target` goes through on its way (a folder
/// on the way, not its last part), or "" when none; `is_link(p)` tells whether p is one.
template <class IsLink>
std::string link_on_the_way(const std::string &path, const std::string &target, IsLink is_link) {
    std::vector<std::string> parts;
    for (std::size_t i = 1, j; i < path.rfind('/') + 1; i = j + 1) {
        j = path.find('/', i);
        parts.push_back(path.substr(i, j - i));
    }
    std::size_t end = target.size();
    for (std::size_t i = 0, j; i < end; i = j + 1) {
        j = std::min(target.find('/', i), end);
        std::string seg = target.substr(i, j - i);
        if (seg.empty() || seg == ".") continue;
        if (seg == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(seg);
        if (j == end) break; // the last component may be a link; only folders on the way matter
        std::string here;
        for (const auto &p : parts) here += "/" + p;
        if (is_link(here)) return here;
    }
    return "";
}
/// check_link_chains' message for a link at `origin` to `target` through the link `here`.
[[nodiscard]] Error link_chain_error(const std::string &origin, const std::string &target, const std::string &here);

/// Refuses a path that one folder makes a file (or link) while another puts files below it.
[[nodiscard]] Status check_parents(const std::map<std::string, FileSpec> &files);
/// check_parents' message: `below_origin` needs `path` to be a folder, but `f` makes it a file.
[[nodiscard]] Error parents_error(const std::string &below_origin, const std::string &path, const FileSpec &f);

/// Checks a whole DesiredState as fjordd receives it from a render child: the commit is
/// `commit`; every host path absolute, normalised and not protected; kinds, modes, link targets,
/// ids and blob content (hashed again) as the renderer makes them; units, containers, hooks
/// named as the manifest allows; the limits of `opts`.
[[nodiscard]] Status validate_desired(const DesiredState &d, const RenderOptions &opts, const std::string &commit);

/// Adds to a partial render every path of the base (`files`, by host path, its FileSpec given by
/// `spec_of`) that the render did not touch, but not the base's unit files (`units`): the render
/// listed today's.
template <class Files, class SpecOf>
void fill_partial(DesiredState &d, const Files &files, const std::map<std::string, UnitSpec> &units, SpecOf spec_of) {
    std::set<std::string> unit_files = unit_file_paths(units);
    for (const auto &[path, x] : files)
        if (!d.touched.count(path) && !unit_files.count(path)) d.files.emplace(path, spec_of(x));
}

/// The checks a partial render (DesiredState::partial) leaves to its caller, once the caller
/// has added every untouched path of the base: apply.max_files, a file where another path
/// needs a folder, chains of links. Clears `partial` and `touched`.
[[nodiscard]] Status complete_partial(DesiredState &d, const RenderOptions &opts);

} // namespace fjord
