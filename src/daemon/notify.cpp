#include "daemon/notify.hpp"

#include "daemon/log.hpp"
#include "util/host.hpp"
#include <algorithm>
#include "util/curl.hpp"
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <sys/socket.h>

namespace fjord {
namespace {

std::string rfc3339(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

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

} // namespace

std::string notify_payload(const NotifyEvent &e, const std::string &host) {
    nlohmann::json j = {{"host", host},           {"event", e.event},         {"commit", e.commit},
                        {"generation", e.generation}, {"time", rfc3339(e.time)}, {"summary", e.summary}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

SendResult curl_send(const std::string &url, const std::string &body, std::chrono::milliseconds timeout,
                     const std::function<bool()> &aborted) {
    char err[CURL_ERROR_SIZE];
    curl_ptr c = curl_handle("fjord-notify", err);
    if (!c) return {false, false, "cannot set up libcurl"};
    curl_slist_ptr headers(curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c.get(), CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &aborted);
    CURLcode rc = curl_easy_perform(c.get());
    if (rc == CURLE_ABORTED_BY_CALLBACK) return {false, false, "aborted at shutdown"};
    if (rc != CURLE_OK) return {false, true, curl_error(rc, err)};
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
    std::string body;
    for (const auto &t : targets_) {
        if (std::find(t.events.begin(), t.events.end(), e.event) == t.events.end()) continue;
        if (body.empty()) body = notify_payload(e, host_);
        if (queue_.size() >= opts_.queue_limit) {
            const Delivery &old = queue_.front();
            log_warning("notify: queue full (" + std::to_string(opts_.queue_limit) + "), dropping the oldest: " + old.event +
                        " to " + where(old.url));
            queue_.pop_front();
            ++dropped_;
        }
        queue_.push_back({t.url, e.event, body, 0, clock::now()});
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
        SendResult r = sender_(d.url, d.body, opts_.timeout, aborted);
        lk.lock();
        in_flight_ = false;
        if (r.ok) {
            ++delivered_;
            log_debug("notify: " + d.event + " to " + where(d.url) + ": " + r.detail);
            continue;
        }
        if (r.retry && d.attempt < opts_.attempts) {
            d.due = clock::now() + opts_.backoff * (1 << (d.attempt - 1));
            queue_.push_back(std::move(d));
            continue;
        }
        ++failed_;
        log_warning("notify: " + d.event + " to " + where(d.url) + " not delivered after " + std::to_string(d.attempt) +
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
