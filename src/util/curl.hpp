#pragma once
// Owned libcurl handles, and the one place that sets what every fjord request sets. Header-only:
// util links no libcurl; the layers that speak HTTP (host, health, images, daemon) do.
#include "util/strings.hpp"
#include <curl/curl.h>
#include <memory>
#include <string>

namespace fjord {

struct curl_deleter {
    void operator()(CURL *c) const { curl_easy_cleanup(c); }
    void operator()(curl_slist *l) const { curl_slist_free_all(l); }
};
/// An owned easy handle.
using curl_ptr = std::unique_ptr<CURL, curl_deleter>;
/// An owned header list.
using curl_slist_ptr = std::unique_ptr<curl_slist, curl_deleter>;

/// A new easy handle with the options every request sets: no signals (requests run in worker
/// threads: no SIGALRM for DNS timeouts), libcurl's detailed message into `err`, and
/// `user_agent`. Null when libcurl cannot set one up.
[[nodiscard]] inline curl_ptr curl_handle(const char *user_agent, char (&err)[CURL_ERROR_SIZE]) {
    curl_ptr c(curl_easy_init());
    if (!c) return c;
    err[0] = '\0';
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c.get(), CURLOPT_USERAGENT, user_agent);
    return c;
}

/// Why a transfer failed: libcurl's detailed message when it left one, else its code's text;
/// without the elapsed times libcurl puts in (util/strings.hpp without_elapsed).
[[nodiscard]] inline std::string curl_error(CURLcode rc, const char *err) {
    return without_elapsed(err[0] ? err : curl_easy_strerror(rc));
}

} // namespace fjord
