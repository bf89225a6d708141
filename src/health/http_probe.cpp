// HTTP checks with libcurl: a well-kept Debian library (timeouts, IPv6, redirects, TLS) that
// would be a lot of careful code to replace for a GET with a status and a body.
#include "health/probes.hpp"

#include "util/curl.hpp"

namespace fjord {
namespace {

constexpr std::size_t max_body = 64 * 1024; // enough to find expect_body in a health page

std::size_t keep_body(char *data, std::size_t size, std::size_t n, void *user) {
    auto *body = static_cast<std::string *>(user);
    std::size_t len = size * n;
    if (body->size() < max_body) body->append(data, std::min(len, max_body - body->size()));
    return len; // the rest is read and dropped, so the server is not cut off mid-answer
}

class HttpProbe final : public Probe {
  public:
    HttpProbe(std::string url, long status, std::string body)
        : url_(std::move(url)), status_(status), body_(std::move(body)) {}
    std::string target() const override { return url_; }
    ProbeResult run(std::chrono::milliseconds timeout) override {
        char err[CURL_ERROR_SIZE];
        curl_ptr c = curl_handle("fjord-health", err);
        if (!c) return {false, "cannot set up libcurl"};
        std::string body;
        curl_easy_setopt(c.get(), CURLOPT_URL, url_.c_str());
        curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
        curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, keep_body);
        curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &body);
        CURLcode rc = curl_easy_perform(c.get());
        if (rc != CURLE_OK) return {false, curl_error(rc, err)};
        long status = 0;
        curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
        if (status != status_) return {false, "status " + std::to_string(status) + ", want " + std::to_string(status_)};
        if (!body_.empty() && body.find(body_) == std::string::npos)
            return {false, "status " + std::to_string(status) + ", but the body lacks \"" + body_ + "\""};
        return {true, "status " + std::to_string(status)};
    }

  private:
    std::string url_;
    long status_;
    std::string body_;
};

} // namespace

std::unique_ptr<Probe> http_probe(std::string url, long expect_status, std::string expect_body) {
    return std::make_unique<HttpProbe>(std::move(url), expect_status, std::move(expect_body));
}

} // namespace fjord
