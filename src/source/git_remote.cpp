// The network side of GitSource: the remote's URL, credentials and host key checks (fjord's
// own: libgit2 1.5 checks no known_hosts), the poll of the followed ref and the fetch of it.
#include "source/git_source_impl.hpp"

#include "source/known_hosts.hpp"
#include "util/strings.hpp"
#include "util/fs.hpp"
#include <charconv>
#include <cstring>
#include <fnmatch.h>
#include <map>
#include <unistd.h>

namespace fjord {
namespace git_detail {
namespace {

std::string lower(std::string s) {
    for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

void split_authority(std::string authority, RemoteUrl &u) {
    auto at = authority.rfind('@');
    if (at != std::string::npos) {
        u.user = authority.substr(0, authority.find(':') < at ? authority.find(':') : at);
        authority.erase(0, at + 1);
    }
    std::string port;
    if (!authority.empty() && authority[0] == '[') { // [v6addr]:port
        auto close = authority.find(']');
        u.host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':')
            port = authority.substr(close + 2);
    } else {
        auto colon = authority.rfind(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string::npos) port = authority.substr(colon + 1);
    }
    if (!port.empty()) std::from_chars(port.data(), port.data() + port.size(), u.port);
}

} // namespace

RemoteUrl parse_url(const std::string &url) {
    RemoteUrl u;
    u.shown = url;
    auto sep = url.find("://");
    if (sep != std::string::npos) {
        u.scheme = lower(url.substr(0, sep));
        std::string rest = url.substr(sep + 3);
        std::string authority = rest.substr(0, rest.find('/'));
        auto at = authority.rfind('@'), colon = authority.find(':');
        if (at != std::string::npos && colon < at) // user:password@ — never shown
            u.shown = url.substr(0, sep + 3) + authority.substr(0, colon) + ":***" + rest.substr(at);
        if (u.scheme != "file") split_authority(authority, u);
    } else {
        // scp-like "[user@]host:path" is ssh; anything else is a local path.
        auto colon = url.find(':'), slash = url.find('/');
        if (colon != std::string::npos && colon > 0 && (slash == std::string::npos || colon < slash)) {
            u.scheme = "ssh";
            split_authority(url.substr(0, colon), u);
            u.port = 0;
        } else {
            u.scheme = "local";
        }
    }
    if (u.scheme == "ssh+git" || u.scheme == "git+ssh") u.scheme = "ssh";
    if (u.scheme == "ssh" && u.port == 0) u.port = 22;
    return u;
}

} // namespace git_detail

namespace {

using namespace git_detail;

// A fetch past this is refused: a fleet repo this large is a mistake, and a small VPS must not
// fill its disk with it.
constexpr std::uint64_t max_fetch_bytes = 2ull << 30;

std::string trim(std::string s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && ws(s.back())) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && ws(s[i])) ++i;
    return s.substr(i);
}

} // namespace

int GitSource::Impl::fetch_refspec(std::string spec, bool prune, const char *reflog) {
    begin();
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    opts.callbacks = callbacks();
    opts.prune = prune ? GIT_FETCH_PRUNE : GIT_FETCH_NO_PRUNE;
    opts.update_fetchhead = 0;
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    char *specs[] = {spec.data()};
    git_strarray refspecs{specs, 1};
    return git_remote_fetch(remote.get(), &refspecs, &opts, reflog);
}

void GitSource::Impl::begin() {
    key_offers = token_offers = 0;
    callback_error.reset();
}

git_remote_callbacks GitSource::Impl::callbacks() {
    git_remote_callbacks cbs;
    git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
    cbs.credentials = &Impl::on_credentials;
    cbs.certificate_check = &Impl::on_certificate;
    cbs.transfer_progress = &Impl::on_progress;
    cbs.payload = this;
    return cbs;
}

int GitSource::Impl::refuse(Error e, int rc) {
    if (!callback_error) callback_error = std::move(e);
    return rc;
}

int GitSource::Impl::credential(git_credential **out, std::string user, unsigned int allowed) {
    if (url.scheme == "ssh") {
        if (user.empty()) user = "git";
        if (allowed & GIT_CREDENTIAL_SSH_KEY) {
            // libgit2 asks again after the server refuses a key: offering the same key
            // once more would loop, so the second ask is the answer.
            if (key_offers++ > 0)
                return refuse({Errc::auth, "the server refused ssh key " + cfg.ssh_key + " for user " + user},
                              GIT_EAUTH);
            if (auto ok = check_ssh_key(cfg.ssh_key); !ok) return refuse(ok.error(), GIT_EAUTH);
            std::string pub = cfg.ssh_key + ".pub";
            bool has_pub = ::access(pub.c_str(), R_OK) == 0;
            return git_credential_ssh_key_new(out, user.c_str(), has_pub ? pub.c_str() : nullptr,
                                              cfg.ssh_key.c_str(), nullptr);
        }
        if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
        return refuse({Errc::auth, "the server offers no public key authentication"}, GIT_EAUTH);
    }
    if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
        if (cfg.token_file.empty())
            return refuse({Errc::auth, "the server asks for credentials and source.token_file is not set"},
                          GIT_EAUTH);
        if (token_offers++ > 0)
            return refuse({Errc::auth, "the server refused the token in " + cfg.token_file}, GIT_EAUTH);
        auto t = read_file(cfg.token_file, 64u << 10);
        if (!t) return refuse({Errc::auth, "token_file " + t.error().message}, GIT_EAUTH);
        token = trim(std::move(*t));
        if (token.empty()) return refuse({Errc::auth, "token_file " + cfg.token_file + " is empty"}, GIT_EAUTH);
        if (user.empty()) user = "x-access-token";
        return git_credential_userpass_plaintext_new(out, user.c_str(), token.c_str());
    }
    return refuse({Errc::auth, "the server asks for a kind of credential fjord does not have"}, GIT_EAUTH);
}

int GitSource::Impl::certificate(git_cert *cert, int valid, const char *host) {
    std::string h = url.host.empty() && host ? host : url.host;
    if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
        // libgit2 1.5 checks no known_hosts and passes valid=0: the check is fjord's.
        const auto *hk = reinterpret_cast<const git_cert_hostkey *>(cert);
        if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey)
            return refuse({Errc::auth, "cannot verify the host key of " + known_hosts_name(h, url.port) +
                                           ": libssh2 did not hand it over"},
                          GIT_ECERTIFICATE);
        auto ok = verify_host_key(cfg.known_hosts, h, url.port, std::string_view(hk->hostkey, hk->hostkey_len));
        if (!ok) return refuse(ok.error(), GIT_ECERTIFICATE);
        return 0;
    }
    if (valid) return GIT_PASSTHROUGH; // TLS: libgit2 verified the chain against the system CAs
    return refuse({Errc::auth, "the TLS certificate of " + h + " is not trusted"}, GIT_ECERTIFICATE);
}

// C callbacks: nothing may throw through libgit2.
int GitSource::Impl::on_credentials(git_credential **out, const char *, const char *user, unsigned int allowed,
                                    void *payload) noexcept {
    try {
        return static_cast<Impl *>(payload)->credential(out, user ? user : "", allowed);
    } catch (...) {
        return GIT_EUSER;
    }
}

int GitSource::Impl::on_certificate(git_cert *cert, int valid, const char *host, void *payload) noexcept {
    try {
        return static_cast<Impl *>(payload)->certificate(cert, valid, host);
    } catch (...) {
        return GIT_EUSER;
    }
}

int GitSource::Impl::on_progress(const git_indexer_progress *stats, void *payload) noexcept {
    if (stats->received_bytes <= max_fetch_bytes) return 0;
    try {
        return static_cast<Impl *>(payload)->refuse(
            {Errc::refused, "the fetch passed " + std::to_string(max_fetch_bytes >> 20) + " MiB, fjord's limit"},
            GIT_EUSER);
    } catch (...) {
        return GIT_EUSER;
    }
}

Error GitSource::Impl::failure(const std::string &what, int rc) const {
    std::string prefix = what + " " + url.shown;
    if (callback_error) return callback_error->context(prefix);
    const git_error *e = git_error_last();
    std::string msg = git_last_message();
    Errc code = Errc::network;
    if (rc == GIT_EAUTH || rc == GIT_ECERTIFICATE ||
        (e && e->klass == GIT_ERROR_SSH && msg.find("authenticat") != std::string::npos))
        code = Errc::auth;
    // libgit2 1.5 reports this as a missing config value; say what it means.
    // For a local path that is not there, libgit2 1.5 says "unsupported URL protocol".
    if (url.scheme == "local" && ::access(url.shown.c_str(), F_OK) < 0)
        msg = std::string("no such repository: ") + std::strerror(errno);
    else if (rc == GIT_EOWNER || msg.find("safe.directory") != std::string::npos)
        msg = "the repository is owned by another user, which libgit2 refuses (safe.directory); "
              "chown it or serve it over git:// or ssh";
    for (std::size_t p; !token.empty() && (p = msg.find(token)) != std::string::npos;) msg.replace(p, token.size(), "***");
    return Error{code, prefix + ": " + msg};
}

int compare_versions(std::string_view a, std::string_view b) {
    if (int c = natural_compare(a, b)) return c;
    return a < b ? -1 : a > b ? 1 : 0; // "v01" and "v1": any fixed order will do
}


Result<RemoteHead> GitSource::poll() {
    Impl &m = *impl_;
    m.begin();
    git_remote_callbacks cbs = m.callbacks();
    int rc = git_remote_connect(m.remote.get(), GIT_DIRECTION_FETCH, &cbs, nullptr, nullptr);
    if (rc < 0) return fail(m.failure("poll", rc));
    struct Disconnect {
        git_remote *r;
        ~Disconnect() { git_remote_disconnect(r); }
    } disconnect{m.remote.get()};

    const git_remote_head **heads = nullptr;
    std::size_t n = 0;
    if ((rc = git_remote_ls(&heads, &n, m.remote.get())) < 0) return fail(m.failure("poll", rc));

    if (m.cfg.tag.empty()) {
        const std::string want = "refs/heads/" + m.cfg.branch;
        for (std::size_t i = 0; i < n; ++i)
            if (want == heads[i]->name) return RemoteHead{want, oid_hex(heads[i]->oid)};
        return fail(Errc::not_found, "poll " + m.url.shown + ": no branch '" + m.cfg.branch + "' on the remote");
    }
    // Annotated tags come twice: "refs/tags/T" names the tag object, "refs/tags/T^{}" the
    // commit it peels to.
    std::map<std::string, std::string> direct, peeled;
    for (std::size_t i = 0; i < n; ++i) {
        std::string_view name = heads[i]->name;
        if (!name.starts_with("refs/tags/")) continue;
        name.remove_prefix(10);
        bool is_peeled = name.ends_with("^{}");
        if (is_peeled) name.remove_suffix(3);
        std::string tag(name);
        if (::fnmatch(m.cfg.tag.c_str(), tag.c_str(), 0) != 0) continue;
        (is_peeled ? peeled : direct)[tag] = oid_hex(heads[i]->oid);
    }
    const std::string *best = nullptr;
    for (const auto &[tag, id] : direct)
        if (!best || compare_versions(tag, *best) > 0) best = &tag;
    if (!best) return fail(Errc::not_found, "poll " + m.url.shown + ": no tag matching '" + m.cfg.tag + "'");
    auto p = peeled.find(*best);
    return RemoteHead{"refs/tags/" + *best, p != peeled.end() ? p->second : direct[*best]};
}

Status GitSource::fetch(const RemoteHead &head) {
    Impl &m = *impl_;
    auto oid = parse_oid(head.commit, "commit");
    if (!oid) return fail(oid.error());
    // A commit once fetched is complete with its trees and blobs: no network for it again.
    if (m.has_commit(*oid)) return {};
    int valid = 0;
    if (!head.ref.starts_with("refs/") || git_reference_name_is_valid(&valid, head.ref.c_str()) < 0 || !valid)
        return fail(Errc::invalid, "fetch: '" + head.ref + "' is not a ref name");

    // Only the followed ref, into one local ref that keeps the newest fetch reachable.
    int rc = m.fetch_refspec("+" + head.ref + ":refs/fjord/remote", false, "fjord: fetch");
    if (rc < 0) return fail(m.failure("fetch " + head.ref + " from", rc));
    if (!m.has_commit(*oid))
        return fail(Errc::network, "fetch " + head.ref + " from " + m.url.shown + ": the remote no longer has " +
                                       head.commit + " there (it moved since the poll)");
    return {};
}

namespace {

/// The remote's verdict on each ref of a push, gathered by push_update_reference.
struct PushVerdicts {
    std::vector<std::string> refused; ///< "REF (REASON)"
};

int on_push_update(const char *ref, const char *status, void *payload) noexcept {
    if (!status) return 0; // accepted
    try {
        static_cast<PushVerdicts *>(payload)->refused.push_back(std::string(ref ? ref : "?") + " (" + std::string(status).substr(0, 200) + ")"); // made printable by the sandbox
    } catch (...) {
    }
    return 0;
}

} // namespace

Status GitSource::push(const std::vector<std::string> &refspecs) {
    Impl &m = *impl_;
    m.begin();
    git_push_options opts;
    git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
    opts.callbacks = m.callbacks();
    // The ref callback's payload is the callbacks' one: this Impl. Verdicts go beside it.
    PushVerdicts verdicts;
    m.push_verdicts = &verdicts;
    opts.callbacks.push_update_reference = [](const char *ref, const char *status, void *payload) noexcept {
        auto *impl = static_cast<Impl *>(payload);
        return impl->push_verdicts ? on_push_update(ref, status, impl->push_verdicts) : 0;
    };
    std::vector<char *> specs;
    std::vector<std::string> copies = refspecs;
    for (auto &c : copies) specs.push_back(c.data());
    git_strarray arr{specs.data(), specs.size()};
    int rc = git_remote_push(m.remote.get(), &arr, &opts);
    m.push_verdicts = nullptr;
    if (rc < 0) return fail(m.failure("push to", rc));
    if (!verdicts.refused.empty()) {
        std::string list;
        for (const auto &r : verdicts.refused) list += (list.empty() ? "" : ", ") + r;
        return fail(Errc::refused, "push to " + m.url.shown + ": the remote refused " + list);
    }
    return {};
}

Status GitSource::fetch_status_refs() {
    Impl &m = *impl_;
    int rc = m.fetch_refspec("+refs/fjord/*:refs/status/*", true, "fjord: fleet");
    if (rc < 0) return fail(m.failure("fetch the reports from", rc));
    return {};
}

} // namespace fjord
