#include "apply/commands.hpp"

#include "util/fs.hpp"
#include "util/unique_fd.hpp"
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fjord {
namespace {


// Removes the staging folder and what is in it (a staged secret above all), on every path out.
struct StagingDir {
    std::string path;
    ~StagingDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// Stages `data` in a memfd and makes `path` a symlink to it (through /proc/PID/fd), so the
// bytes (a secret's plaintext, maybe) never reach a disk and vanish with fjordd, even killed.
Result<unique_fd> write_staged(const std::string &path, std::string_view data) {
    unique_fd fd(::memfd_create("fjord-validate", MFD_CLOEXEC));
    if (!fd) return fail_errno("stage " + path + ": memfd_create");
    for (std::size_t done = 0; done < data.size();) {
        ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("stage " + path);
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd.get(), 0600) < 0) return fail_errno("stage " + path);
    std::string target = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd.get());
    if (::symlink(target.c_str(), path.c_str()) < 0) return fail_errno("stage " + path);
    return fd;
}

Result<std::string> staged_content(const ValidateContext &ctx, const DesiredState &desired, const FileSpec &f) {
    if (auto it = desired.blobs.find(f.id); it != desired.blobs.end()) return it->second;
    auto data = ctx.content(f.id, ctx.max_file_size);
    if (!data) return fail(data.error().context(f.origin));
    if (!f.secret) return data;
    if (!ctx.decrypt) return fail(Errc::invalid, f.origin + ": a secret, and no age identity to decrypt it");
    return ctx.decrypt(*data, f.origin);
}

std::vector<std::string> substitute(const std::vector<std::string> &argv, const std::string &path) {
    std::vector<std::string> out;
    for (auto a : argv) {
        for (std::size_t at = 0; (at = a.find("%s", at)) != std::string::npos; at += path.size()) a.replace(at, 2, path);
        out.push_back(std::move(a));
    }
    return out;
}


} // namespace

std::string command_failure(const std::vector<std::string> &argv, const CommandResult &r, std::string_view hidden) {
    std::string line = shown_argv(argv) + ": " + r.status();
    if (!hidden.empty()) return line + " (" + std::string(hidden) + ")";
    std::string out = r.shown_output(), flat;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] == '\r') continue;
        if (out[i] == '\n') flat += " | ";
        else flat += out[i];
    }
    return flat.empty() ? line : line + ": " + flat;
}

Status validate_files(const ValidateContext &ctx, const Plan &plan, const DesiredState &desired) {
    std::vector<FileSpec> todo; // copies: a generation's table builds its entries when read
    for (const auto &a : plan.actions) {
        if (a.kind != ActionKind::write) continue;
        auto it = plan.next.files.find(a.path);
        if (it != plan.next.files.end() && it->second.spec.kind == FileKind::file && !it->second.spec.validate.empty())
            todo.push_back(it->second.spec);
    }
    if (todo.empty()) return {};
    // A folder a crash left behind may hold a secret: it goes first.
    StagingDir dir{ctx.staging};
    std::error_code ec;
    std::filesystem::remove_all(dir.path, ec);
    FJORD_TRY(mkdir_p(dirname_of(dir.path), 0700));
    if (::mkdir(dir.path.c_str(), 0700) != 0) return fail_errno("make " + dir.path);
    std::size_t n = 0;
    for (const FileSpec &f : todo) {
        // One folder per file, so the staged file keeps its own name (some validators look at it).
        std::string sub = dir.path + "/" + std::to_string(++n);
        if (::mkdir(sub.c_str(), 0700) != 0) return fail_errno("make " + sub);
        std::string staged = sub + "/" + f.path.substr(f.path.rfind('/') + 1);
        auto data = staged_content(ctx, desired, f);
        if (!data) return fail(data.error().context("validate " + f.path));
        auto w = write_staged(staged, *data);
        if (f.secret) explicit_bzero(data->data(), data->size());
        if (!w) return fail(w.error().context("validate " + f.path));
        Command cmd;
        cmd.argv = substitute(f.validate, staged);
        cmd.env = {"FJORD_PATH=" + f.path, "FJORD_ROOT=" + ctx.root};
        cmd.timeout = guard_command_timeout;
        auto r = run_command(cmd);
        ::unlink(staged.c_str());
        if (!r) return fail(r.error().context("validate " + f.path + ": " + shown_argv(f.validate)));
        if (!r->ok())
            return fail(Errc::invalid, "validate " + f.path + " (" + f.origin + "): " + command_failure(f.validate, *r, f.secret ? "output not shown: the file is a secret" : ""));
    }
    return {};
}

Status run_pre_restart(const Generation &next, const std::vector<UnitStep> &steps, const std::string &root) {
    std::set<std::string> done;
    // A unit's config check may print what it read, secrets included: with any secret file in
    // the generation its output never reaches the journal, status, history or a webhook.
    bool secrets = std::any_of(next.files.begin(), next.files.end(), [](const auto &f) { return f.second.spec.secret; });
    for (const auto &s : steps) {
        if (s.kind != UnitStep::start && s.kind != UnitStep::restart && s.kind != UnitStep::reload) continue;
        auto it = next.units.find(s.unit);
        if (it == next.units.end() || it->second.pre_restart.empty() || !done.insert(s.unit).second) continue;
        Command cmd;
        cmd.argv = it->second.pre_restart;
        cmd.env = {"FJORD_UNIT=" + s.unit, "FJORD_ROOT=" + root};
        cmd.timeout = guard_command_timeout;
        auto r = run_command(cmd);
        if (!r) return fail(r.error().context("pre_restart of " + s.unit));
        if (!r->ok())
            return fail(Errc::invalid, "pre_restart of " + s.unit + " failed before its " + describe(s).substr(0, describe(s).find(' ')) +
                                           ": " + command_failure(cmd.argv, *r, secrets ? secret_output_hidden : ""));
    }
    return {};
}

} // namespace fjord
