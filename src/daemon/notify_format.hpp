#pragma once
// The requests [[notify]] targets get, one builder per notify.format: pure functions from an
// event to a method, URL, headers and body, so each is unit-tested against its provider's API
// without a network. The token is never part of a request built here: the sender reads
// token_file at send time and adds the header whose name and scheme `auth` gives.
#include "config/config.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fjord {

/// One thing that happened, as receivers see it. No file contents, no secrets: the summary is
/// the sync's one-line message (paths and reasons).
struct NotifyEvent {
    std::string event;        ///< applying | applied | rolled_back | failed | drift | refused
    std::string commit;
    std::uint64_t generation = 0;
    std::int64_t time = 0;    ///< seconds since the epoch
    std::string summary;
    bool dedupe = false;      ///< skip when it repeats the previous deduped event (a failing poll every minute)
    /// False when the event is no verdict on `commit`: an operator's rollback (back to a commit
    /// that did nothing wrong) or an image update (of the commit the host runs). Commit-status
    /// formats write nothing for it; chat formats still tell it.
    bool judges_commit = true;
};

/// One HTTP request to a receiver.
struct NotifyRequest {
    std::string method = "POST";
    std::string url;
    std::vector<std::string> headers; ///< "Name: value"; never the token
    std::string body;
    std::string auth;       ///< the token's header up to the token ("Authorization: Bearer "); "" = none
    std::string token_file; ///< where the token is read from at send time
};

/// The generic JSON body: {"host", "event", "commit", "generation", "time" (RFC 3339, UTC), "summary"}.
[[nodiscard]] std::string notify_payload(const NotifyEvent &e, const std::string &host);

/// The request target `t` gets for `e`; nullopt when its format does not report this event (a
/// commit status needs a commit, and drift is no commit's outcome). `txn` makes a Matrix
/// message's transaction ID: the same for every attempt of one delivery, so a retry after a lost
/// answer is not posted twice.
[[nodiscard]] std::optional<NotifyRequest> notify_request(const NotifyConfig &t, const NotifyEvent &e, const std::string &host,
                                                          const std::string &txn);

/// `s` cut to at most `max` bytes on a UTF-8 boundary, "…" at the end when cut.
[[nodiscard]] std::string cut_utf8(std::string_view s, std::size_t max);

} // namespace fjord
