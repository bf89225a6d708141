#include "cli/secrets_cmd.hpp"

#include "config/own_paths.hpp"
#include "secrets/age.hpp"
#include "util/fs.hpp"
#include <cstdio>
#include <cstring>
#include <memory>
#include <unistd.h>

namespace fjord {
namespace {

constexpr const char *encrypt_usage =
    "usage: fjordctl encrypt -r RECIPIENT [-r RECIPIENT...] [-a] <PLAINTEXT >CIPHERTEXT\n"
    "  -r, --recipient age1…   a host's age recipient (fjordctl identity recipient on that host)\n"
    "  -a, --armor             ASCII-armored output (for review in diffs and web UIs)\n";

// Far above apply.max_file_size's default (64 MiB): a bound, not a policy.
constexpr std::size_t max_plaintext = 1ull << 30;

int failed(const std::string &msg) {
    std::fprintf(stderr, "fjordctl: %s\n", msg.c_str());
    return 1;
}

/// All of stdin. The buffer grows by copying into a new one and wiping the old, so no stale
/// copy of the plaintext is left in freed memory.
Result<std::string> read_stdin_wiped() {
    std::string buf;
    buf.reserve(64 * 1024);
    std::size_t used = 0;
    for (;;) {
        if (used == buf.capacity()) {
            if (used >= max_plaintext) {
                wipe(buf);
                return fail(Errc::invalid, "stdin is larger than 1 GiB");
            }
            std::string bigger;
            bigger.reserve(buf.capacity() * 2);
            bigger.assign(buf.data(), used);
            buf.resize(buf.capacity());
            wipe(buf);
            buf = std::move(bigger);
        }
        buf.resize(buf.capacity()); // within capacity: no reallocation
        ssize_t n = ::read(STDIN_FILENO, buf.data() + used, buf.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            wipe(buf);
            return fail_errno("read stdin", err);
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    buf.resize(used);
    return buf;
}

Status write_stdout(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("write stdout");
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

/// The public half of an ssh key (the deploy key, or the report key), or why there is none.
Result<std::string> ssh_public_key(const std::string &key_path, const char *make_it) {
    std::string pub = key_path + ".pub";
    if (::access(pub.c_str(), F_OK) < 0) return fail(Errc::not_found, "none: " + pub + " does not exist (" + make_it + ")");
    auto text = read_file(pub, 64 * 1024);
    if (!text) return fail(std::move(text.error()));
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    return *text;
}

constexpr const char *deploy_key_hint = "make one with ssh-keygen -t ed25519; README, Quick start";

} // namespace

int run_identity(const Config &cfg, const std::vector<std::string> &args) {
    std::string only = args.empty() ? "" : args[0];
    if (args.size() > 1 || (only != "" && only != "recipient" && only != "ssh")) {
        std::fprintf(stderr, "usage: fjordctl [--config FILE] identity [recipient|ssh]\n");
        return 2;
    }
    if (only == "ssh") {
        auto key = ssh_public_key(cfg.source.ssh_key, deploy_key_hint);
        if (!key) return failed("ssh deploy key: " + key.error().message);
        std::printf("%s\n", key->c_str());
        return 0;
    }
    bool created = false;
    auto id = ensure_identity_file(identity_path(cfg), &created);
    if (!id) return failed("age identity: " + id.error().message);
    if (created) std::fprintf(stderr, "fjordctl: created the age identity %s\n", identity_path(cfg).c_str());
    if (only == "recipient") {
        std::printf("%s\n", id->recipient().encode().c_str());
        return 0;
    }
    auto key = ssh_public_key(cfg.source.ssh_key, deploy_key_hint);
    std::printf("age recipient:  %s\n", id->recipient().encode().c_str());
    std::printf("ssh deploy key: %s\n", key ? key->c_str() : key.error().message.c_str());
    // The key reports are pushed with (fleets): give it write access to the status repository.
    if (!cfg.report.url.empty()) {
        auto rk = ssh_public_key(cfg.report.ssh_key, "fjordd makes it at its start");
        std::printf("report key:     %s\n", rk ? rk->c_str() : rk.error().message.c_str());
    }
    return 0;
}

int run_encrypt(const std::vector<std::string> &args) {
    std::vector<AgeRecipient> recipients;
    bool armor = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &w = args[i];
        if (w == "-a" || w == "--armor") {
            armor = true;
        } else if ((w == "-r" || w == "--recipient") && i + 1 < args.size()) {
            auto r = AgeRecipient::parse(args[++i]);
            if (!r) {
                std::fprintf(stderr, "fjordctl: %s\n%s", r.error().message.c_str(), encrypt_usage);
                return 2;
            }
            recipients.push_back(*r);
        } else {
            std::fprintf(stderr, "fjordctl: encrypt: unexpected argument %s\n%s", w.c_str(), encrypt_usage);
            return 2;
        }
    }
    if (recipients.empty()) {
        std::fprintf(stderr, "fjordctl: encrypt needs at least one -r RECIPIENT\n%s", encrypt_usage);
        return 2;
    }
    if (::isatty(STDOUT_FILENO) && !armor) return failed("encrypt: refusing to write binary age to a terminal (use -a, or redirect stdout)");
    auto plain = read_stdin_wiped();
    if (!plain) return failed(plain.error().message);
    auto out = age_encrypt(*plain, recipients, armor);
    wipe(*plain);
    if (!out) return failed(out.error().message);
    if (auto w = write_stdout(*out); !w) return failed(w.error().message);
    return 0;
}

std::string offline_secrets(const Config &cfg, RenderOptions &ro) {
    auto id = load_identity_file(identity_path(cfg));
    if (!id) return id.error().message;
    auto shared = std::make_shared<const AgeIdentity>(std::move(*id));
    ro.decrypt = [shared](std::string_view ciphertext, const std::string &origin) -> Result<std::string> {
        auto plain = age_decrypt(ciphertext, std::span<const AgeIdentity>(shared.get(), 1));
        if (!plain) return fail(std::move(plain.error()).context(origin));
        return plain;
    };
    return "";
}

} // namespace fjord
