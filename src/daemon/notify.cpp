#include "daemon/notify.hpp"

#include "daemon/log.hpp"
#include "util/host.hpp"
#include <algorithm>
#include "util/curl.hpp"
#include "util/fs.hpp"
#include "util/unique_fd.hpp"
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ctime>
#include <memory>
#include <sys/socket.h>

namespace fjord {
namespace {

// Webhook URLs often carry their secret in the path (Slack, Teams): logs name the host only.
std::string where(const std::string &url) {
    auto scheme = url.find("://");
    auto end = url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
    return url.substr(0, end) + (end == std::string::npos ? "" : "/…");
}

int on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return (*static_cast<const std::function<bool()> *>(user))() ? 1 : 0; // nonzero aborts the transfer
}

std::size_t discard(char *, std::size_t size, std::size_t n, void *) { return size * n; }

// Sockets close on exec: an exec health check forked meanwhile must not inherit them.
curl_socket_t open_socket(void *, curlsocktype, curl_sockaddr *a) {
    return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/// A token file's text, refused when others may read it (as the age identity is).
Result<std::string> read_token_file(const std::string &path) {
    // O_NONBLOCK: a FIFO put in its place opens at once (and is refused below) instead of
    // hanging the notifier's thread, and fjordd's stop with it.
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return fail_errno(path);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_errno(path);
    if (!S_ISREG(st.st_mode)) return fail(Errc::invalid, path + ": not a regular file");
    if (st.st_mode & 077) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return fail(Errc::refused, path + ": mode " + mode + " lets other users read the token; chmod 0600 it");
    }
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("read " + path);
        if (n == 0) return text;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > (64u << 10)) return fail(Errc::invalid, path + ": too large for a token");
    }
}

} // namespace

Result<std::string> token_from_file_text(std::string_view text, const std::string &path) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    if (text.empty()) return fail(Errc::invalid, "token_file " + path + " is empty");
    // A header line ends at CR or LF: a second line would become a header of its own.
    for (char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return fail(Errc::invalid, "token_file " + path + " must hold one line (the token) without control characters");
    return std::string(text);
}

SendResult curl_send(const NotifyRequest &req, std::chrono::milliseconds timeout, const std::function<bool()> &aborted) {
    std::string token;
    if (!req.auth.empty()) {
        if (req.token_file.empty()) return {false, false, "no token_file for this format"};
        auto text = read_token_file(req.token_file);
        if (!text) return {false, false, "token_file " + text.error().message};
        auto t = token_from_file_text(*text, req.token_file);
        if (!t) return {false, false, t.error().message};
        token = std::move(*t);
    }
    // Whatever libcurl says goes to the log: never with the token in it.
    auto redact = [&](std::string s) {
        for (std::size_t at; !token.empty() && (at = s.find(token)) != std::string::npos;) s.replace(at, token.size(), "<token>");
        return s;
    };
    char err[CURL_ERROR_SIZE];
    curl_ptr c = curl_handle("fjord-notify", err);
    if (!c) return {false, false, "cannot set up libcurl"};
    curl_slist *list = nullptr;
    for (const auto &h : req.headers) list = curl_slist_append(list, h.c_str());
    std::string auth_line = token.empty() ? std::string{} : req.auth + token;
    if (!auth_line.empty()) list = curl_slist_append(list, auth_line.c_str());
    curl_slist_ptr headers(list);
    curl_easy_setopt(c.get(), CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c.get(), CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &aborted);
    CURLcode rc = curl_easy_perform(c.get());
    if (rc == CURLE_ABORTED_BY_CALLBACK) return {false, false, "aborted at shutdown"};
    if (rc != CURLE_OK) return {false, true, redact(curl_error(rc, err))};
    long status = 0;
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return {true, false, "HTTP " + std::to_string(status)};
    return {false, status >= 500 || status == 429 || status == 408, "HTTP " + std::to_string(status)};
}

Notifier::Notifier(std::vector<NotifyConfig> targets, NotifyOptions opts, NotifySender sender, std::string host)
    : opts_(opts), sender_(std::move(sender)), host_(host.empty() ? host_name() : std::move(host)), targets_(std::move(targets)) {}

Notifier::~Notifier() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
        deadline_ = clock::now() + opts_.grace;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void Notifier::set_targets(std::vector<NotifyConfig> targets) {
    std::lock_guard lk(mu_);
    targets_ = std::move(targets);
}

std::size_t Notifier::pending() const {
    std::lock_guard lk(mu_);
    return queue_.size() + (in_flight_ ? 1 : 0);
}

void Notifier::send(const NotifyEvent &e) {
    std::unique_lock lk(mu_);
    if (stopping_) return;
    std::string key = e.event + "\n" + e.summary;
    if (e.dedupe && key == last_dedupe_) return;
    last_dedupe_ = e.dedupe ? key : "";
    for (const auto &t : targets_) {
        if (std::find(t.events.begin(), t.events.end(), e.event) == t.events.end()) continue;
        // One transaction ID a delivery, kept over its retries: the wall clock in ns (unique
        // across restarts) and a count.
        std::string txn = "fjord-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" +
                          std::to_string(++txn_);
        auto req = notify_request(t, e, host_, txn);
        if (!req) continue;
        if (queue_.size() >= opts_.queue_limit) {
            const Delivery &old = queue_.front();
            log_warning("notify: queue full (" + std::to_string(opts_.queue_limit) + "), dropping the oldest: " + old.event +
                        " to " + where(old.req.url));
            queue_.pop_front();
            ++dropped_;
        }
        queue_.push_back({std::move(*req), e.event, 0, clock::now()});
    }
    if (!queue_.empty() && !worker_.joinable()) worker_ = std::thread([this] { run(); });
    lk.unlock();
    cv_.notify_all();
}

void Notifier::run() {
    std::unique_lock lk(mu_);
    for (;;) {
        if (stopping_ && (queue_.empty() || clock::now() >= deadline_)) break;
        if (queue_.empty()) {
            cv_.wait(lk);
            continue;
        }
        // The delivery due first (retries wait their backoff; new ones are due at once).
        auto next = std::min_element(queue_.begin(), queue_.end(), [](const Delivery &a, const Delivery &b) { return a.due < b.due; });
        auto until = stopping_ ? std::min(next->due, deadline_) : next->due;
        if (clock::now() < until) {
            cv_.wait_until(lk, until);
            continue;
        }
        Delivery d = std::move(*next);
        queue_.erase(next);
        in_flight_ = true;
        lk.unlock();
        ++d.attempt;
        std::function<bool()> aborted = [this] {
            std::lock_guard g(mu_);
            return stopping_ && clock::now() >= deadline_;
        };
        SendResult r = sender_(d.req, opts_.timeout, aborted);
        lk.lock();
        in_flight_ = false;
        if (r.ok) {
            ++delivered_;
            log_debug("notify: " + d.event + " to " + where(d.req.url) + ": " + r.detail);
            continue;
        }
        if (r.retry && d.attempt < opts_.attempts) {
            d.due = clock::now() + opts_.backoff * (1 << (d.attempt - 1));
            queue_.push_back(std::move(d));
            continue;
        }
        ++failed_;
        log_warning("notify: " + d.event + " to " + where(d.req.url) + " not delivered after " + std::to_string(d.attempt) +
                    (d.attempt == 1 ? " attempt: " : " attempts: ") + r.detail + ", ignoring");
    }
    if (!queue_.empty()) {
        dropped_ += queue_.size();
        log_warning("notify: stopping; " + std::to_string(queue_.size()) + " notification(s) not sent within " +
                    std::to_string(opts_.grace.count()) + " ms, dropped");
        queue_.clear();
    }
}

} // namespace fjord
