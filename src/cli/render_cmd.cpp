#include "cli/render_cmd.hpp"

#include "cli/secrets_cmd.hpp"
#include "cli/tty.hpp"
#include "facts/host_facts.hpp"
#include "facts/render_options.hpp"
#include "fleet/fleet_toml.hpp"
#include "util/fs.hpp"
#include "sandbox/isolated.hpp"
#include "manifest/manifest_toml.hpp"
#include "manifest/render.hpp"
#include <cstdio>
#include <filesystem>

namespace fjord {
namespace {

namespace fs = std::filesystem;

// Messages name the repo's files and folders: never with their control characters raw.
int failed(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\n", tty_lines(msg).c_str());
    return 1;
}

int usage(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\nusage: fjordctl render HOSTDIR [--host NAME] [--var NAME=VALUE]...\n"
                         "       fjordctl validate DIR...\n", tty_lines(msg).c_str());
    return 2;
}

/// Facts for a host other than this one: host.name, and placeholders for what only the host
/// itself knows (documentation addresses, RFC 5737 and RFC 3849), so templates still render.
VarTable placeholder_facts(const std::string &name) {
    VarTable f;
    set_var(f, "host.name", VarValue::string(name));
    set_var(f, "host.machine_id", VarValue::string("00000000000000000000000000000000"));
    set_var(f, "host.ipv4", VarValue::strings({"192.0.2.10"}));
    set_var(f, "host.ipv6", VarValue::strings({"2001:db8::10"}));
    set_var(f, "host.virtualization", VarValue::string("none"));
    return f;
}

struct HostDir {
    std::string root;      ///< the repo's root folder
    std::string host_path; ///< relative to the repo root
};

/// Opens the repo around `dir`: the nearest folder above holding .git, so includes resolve as
/// on the host (the folder itself when there is none).
Result<HostDir> open_host_dir(const std::string &dir) {
    std::error_code ec;
    auto abs = fs::absolute(dir, ec);
    if (ec || !fs::is_directory(abs, ec)) return fail(Errc::invalid, dir + ": not a folder");
    abs = abs.lexically_normal();
    if (abs.has_filename() == false) abs = abs.parent_path();
    fs::path root = abs;
    while (!fs::exists(root / ".git", ec) && root.has_parent_path() && root != root.parent_path()) root = root.parent_path();
    if (!fs::exists(root / ".git", ec)) root = abs;
    std::string rel = fs::relative(abs, root, ec).string();
    return HostDir{root.string(), rel.empty() ? "." : rel};
}

RenderOptions options(const Config &cfg) {
    RenderOptions ro = render_options(cfg);
    ro.host_path.clear(); // set per host folder (assigning "." here trips g++ 12's -Wrestrict)
    return ro;
}

bool looks_like_host(const fs::path &p) {
    std::error_code ec;
    for (const char *n : {"fjord.toml", "files", "units", "containers"})
        if (fs::exists(p / n, ec)) return true;
    return false;
}

/// The host folders under `dir`: DIR/hosts/* when there is such a folder, else DIR itself when
/// it looks like a host folder, else its subfolders that do.
std::vector<std::string> find_hosts(const std::string &dir) {
    std::error_code ec;
    fs::path base = dir;
    std::vector<std::string> out;
    auto children = [&](const fs::path &p, bool all) {
        for (const auto &e : fs::directory_iterator(p, ec))
            if (e.is_directory(ec) && e.path().filename().string()[0] != '.' && (all || looks_like_host(e.path())))
                out.push_back(e.path().string());
    };
    if (fs::is_directory(base / "hosts", ec)) children(base / "hosts", true);
    else if (looks_like_host(base)) out.push_back(dir);
    else children(base, false);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

int run_render(const Config &cfg, const std::vector<std::string> &args) {
    std::string dir, host;
    VarTable vars, facts_set;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--host" || args[i] == "--var") {
            if (i + 1 >= args.size()) return usage(args[i] + " needs a value");
            if (args[i] == "--host") {
                host = args[++i];
                continue;
            }
            auto kv = parse_var_assignment(args[++i]);
            if (!kv) return usage("--var " + kv.error().message);
            bool fact = kv->first.rfind("host.", 0) == 0 || kv->first.rfind("fjord.", 0) == 0;
            set_var(fact ? facts_set : vars, kv->first, std::move(kv->second));
        } else if (!dir.empty()) {
            return usage("render needs one host folder");
        } else {
            dir = args[i];
        }
    }
    if (dir.empty()) return usage("render needs one host folder");
    auto hd = open_host_dir(dir);
    if (!hd) return failed(hd.error().message);
    // A fleet repo's root or its hosts/ folder renders nothing: say what render needs.
    if (!looks_like_host(dir))
        return usage(dir + ": not a host folder (it has no fjord.toml, files/, units/ or containers/); `fjordctl validate " + dir +
                     "` renders every host folder under it");
    RenderOptions ro = options(cfg);
    ro.host_path = hd->host_path;
    // Precedence: --var over --host over this machine's facts; --var over every [vars].
    ro.facts = host.empty() ? host_facts() : placeholder_facts(host);
    set_var(ro.facts, "fjord.commit", VarValue::string(""));
    set_var(ro.facts, "fjord.generation", VarValue::number("0"));
    merge_vars(ro.facts, facts_set);
    ro.var_overrides = std::move(vars);
    if (!host.empty())
        std::fprintf(stderr, "fjordctl: rendering for host %s: host.machine_id, host.ipv4, host.ipv6 and "
                             "host.virtualization are placeholders unless --var sets them\n", tty(host).c_str());
    std::string undecrypted = offline_secrets(cfg, ro); // on the host itself, secrets are checked too
    // The checkout is untrusted input: parsed in a sandboxed child, as fjordd does.
    auto d = render_dir_isolated(hd->root, ro);
    if (!d) return failed(d.error().message);
    // Names, owners and link targets are the repo's: a name may hold ESC or CR (only line
    // breaks are refused in names), shown escaped.
    for (const auto &[p, s] : d->files) {
        if (s.kind == FileKind::symlink)
            std::printf("l ---- %s:%s %s -> %s\n", tty(s.owner).c_str(), tty(s.group).c_str(), tty(p).c_str(), tty(s.target).c_str());
        else std::printf("f %04o %s:%s %s%s\n", s.mode, tty(s.owner).c_str(), tty(s.group).c_str(), tty(p).c_str(), s.secret ? " (secret)" : "");
    }
    // The rendered templates in full: what review needs to see. Secrets are never shown.
    for (const auto &[p, s] : d->files) {
        auto blob = d->blobs.find(s.id);
        if (s.secret || blob == d->blobs.end() || s.origin.size() < 5 || s.origin.compare(s.origin.size() - 5, 5, ".tmpl") != 0)
            continue;
        std::printf("\n==> %s (from %s) <==\n%s", tty(p).c_str(), tty(s.origin).c_str(), blob->second.c_str());
        if (!blob->second.empty() && blob->second.back() != '\n') std::printf("\n");
    }
    return 0;
}

int run_validate(const Config &cfg, const std::vector<std::string> &args) {
    if (args.empty()) return usage("validate needs at least one folder");
    int rc = 0;
    std::size_t hosts = 0, errors = 0;
    for (const auto &arg : args) {
        if (arg.rfind("--", 0) == 0) return usage("validate takes no option " + arg);
        std::error_code ec;
        if (!fs::is_directory(arg, ec)) {
            rc = failed(arg + ": not a folder");
            ++errors;
            continue;
        }
        // The fleet repo's root holds fleet.toml, the rollout policy of its commits.
        if (fs::path ft = fs::path(arg) / fleet::fleet_toml_name; fs::exists(fs::symlink_status(ft, ec))) {
            Diagnostics all;
            auto text = read_file(ft.string(), fleet::max_fleet_toml_bytes + 1);
            auto policy = text ? fleet::parse_fleet_toml(*text, ft.lexically_normal().string(), &all)
                               : Result<fleet::FleetPolicy>(tl::make_unexpected(text.error()));
            if (policy) {
                std::printf("%s: ok (%zu wave%s%s)\n", tty(ft.lexically_normal().string()).c_str(), policy->waves.size(),
                            policy->waves.size() == 1 ? "" : "s", policy->mode == fleet::FleetMode::all ? ", mode all" : "");
            } else {
                rc = 1;
                auto list = all.empty() ? std::vector<Error>{policy.error()} : all.errors();
                for (const auto &e : list) std::fprintf(stderr, "fjordctl: %s\n", tty_lines(e.message).c_str());
                errors += list.size();
            }
        }
        auto found = find_hosts(arg);
        if (found.empty()) {
            rc = failed(arg + ": no host folder found (a folder with fjord.toml, files/ or units/, or a hosts/ folder of them)");
            ++errors;
        }
        for (const auto &dir : found) {
            ++hosts;
            auto hd = open_host_dir(dir);
            if (!hd) {
                rc = failed(hd.error().message);
                ++errors;
                continue;
            }
            RenderOptions ro = options(cfg);
            ro.host_path = hd->host_path;
            // Every host is checked as itself: its folder's name, placeholders for the rest.
            ro.facts = placeholder_facts(fs::path(dir).lexically_normal().filename().string());
            set_var(ro.facts, "fjord.commit", VarValue::string(""));
            set_var(ro.facts, "fjord.generation", VarValue::number("0"));
            std::vector<Error> template_errors;
            ro.template_errors = &template_errors;
            std::string undecrypted = offline_secrets(cfg, ro);
            auto d = render_dir_isolated(hd->root, ro);
            if (d) {
                std::size_t secrets = 0;
                for (const auto &[p, s] : d->files) secrets += s.secret;
                std::printf("%s: ok (%zu files)%s\n", tty(dir).c_str(), d->files.size(),
                            secrets && !undecrypted.empty() ? " (secrets not decrypted: no identity here)" : "");
                continue;
            }
            rc = 1;
            if (template_errors.empty()) template_errors.push_back(d.error());
            for (const auto &e : template_errors)
                std::fprintf(stderr, "fjordctl: %s: %s\n", tty(dir).c_str(), tty_lines(e.message).c_str());
            errors += template_errors.size();
        }
    }
    if (rc) std::fprintf(stderr, "fjordctl: validate: %zu error%s in %zu host folder%s\n", errors, errors == 1 ? "" : "s", hosts,
                         hosts == 1 ? "" : "s");
    return rc;
}

} // namespace fjord
