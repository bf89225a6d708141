#include "daemon/notify_format.hpp"

#include "util/strings.hpp"
#include <ctime>
#include <nlohmann/json.hpp>

// Field names, methods and headers follow each provider's public API reference:
// - Slack incoming webhooks, "text" and (legacy, still accepted) "attachments" with color, title,
//   text, fields {title, value, short}: https://api.slack.com/messaging/webhooks and
//   https://api.slack.com/reference/messaging/attachments. Mattermost
//   (https://developers.mattermost.com/integrate/webhooks/incoming/) and Rocket.Chat incoming
//   webhooks take the same "text" and "attachments"; Slack's "blocks" they do not, so none are sent.
// - Discord, Execute Webhook: "content" (2000 characters at most), "embeds" {title (256),
//   description (4096), color, fields {name, value, inline}, timestamp}, "allowed_mentions":
//   https://discord.com/developers/docs/resources/webhook#execute-webhook
// - Microsoft Teams, incoming webhooks and Workflows: a "message" whose attachment has
//   contentType "application/vnd.microsoft.card.adaptive" and an AdaptiveCard as content:
//   https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
// - Matrix, PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId} with a bearer access
//   token; an m.room.message of msgtype m.notice (the type for bots' messages):
//   https://spec.matrix.org/latest/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid
// - GitHub, Create a commit status: POST /repos/{owner}/{repo}/statuses/{sha}, Accept:
//   application/vnd.github+json, state error|failure|pending|success, description, context:
//   https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
// - GitLab, Set the pipeline status of a commit: POST /projects/:id/statuses/:sha, PRIVATE-TOKEN,
//   state pending|running|success|failed|canceled, name (alias context), description:
//   https://docs.gitlab.com/ee/api/commits.html#set-the-pipeline-status-of-a-commit
// - Gitea and Forgejo, repoCreateStatus: POST /repos/{owner}/{repo}/statuses/{sha},
//   "Authorization: token ...", CreateStatusOption {state pending|success|error|failure|warning,
//   context, description, target_url}: https://gitea.com/api/swagger#/repository/repoCreateStatus

namespace fjord {
namespace {

using json = nlohmann::json;

std::string dump(const json &j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string rfc3339(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/// How a chat message names the event.
std::string event_words(const std::string &event) {
    if (event == "rolled_back") return "rolled back";
    return event;
}

/// "web1: rolled back", the first line of every chat message.
std::string headline(const NotifyEvent &e, const std::string &host) { return host + ": " + event_words(e.event); }

/// Red for what went wrong, amber for what needs a look, green for done, blue for under way.
std::uint32_t color(const std::string &event) {
    if (event == "applied") return 0x2EB67D;
    if (event == "applying") return 0x439FE0;
    if (event == "refused" || event == "drift") return 0xECB22E;
    return 0xE01E5A;
}

std::string hex_color(std::uint32_t c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%06x", c);
    return buf;
}

/// The facts beside the summary: the commit (short) and the generation, when there are any.
std::vector<std::pair<std::string, std::string>> facts(const NotifyEvent &e) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!e.commit.empty()) out.emplace_back("Commit", short_id(e.commit));
    if (e.generation) out.emplace_back("Generation", std::to_string(e.generation));
    return out;
}

/// Slack reads <...> as links and mentions (<!channel>); the three escapes its docs ask for.
std::string slack_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '&') out += "&amp;";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else out += c;
    }
    return out;
}

/// RFC 3986 unreserved characters stay; every other byte is %XX (a room ID's '!' and ':').
std::string percent_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || c == '~';
        if (keep) {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

bool is_sha(std::string_view s) {
    return (s.size() == 40 || s.size() == 64) &&
           s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string trimmed_url(std::string url) {
    while (url.size() > 1 && url.back() == '/') url.pop_back();
    return url;
}

NotifyRequest json_post(const NotifyConfig &t, std::string url, std::string body) {
    NotifyRequest r;
    r.url = std::move(url);
    r.headers = {"Content-Type: application/json"};
    r.body = std::move(body);
    r.token_file = t.token_file;
    return r;
}

json slack(const NotifyEvent &e, const std::string &host) {
    json fields = json::array();
    for (const auto &[k, v] : facts(e)) fields.push_back({{"title", k}, {"value", v}, {"short", true}});
    std::string line = "fjord " + headline(e, host);
    json att = {{"color", hex_color(color(e.event))}, {"fallback", slack_escape(line + ": " + e.summary)},
                {"title", slack_escape(headline(e, host))}, {"text", slack_escape(e.summary)},
                {"fields", fields}, {"ts", e.time}};
    return {{"text", slack_escape(line)}, {"attachments", json::array({att})}};
}

json discord(const NotifyEvent &e, const std::string &host) {
    json fields = json::array();
    for (const auto &[k, v] : facts(e)) fields.push_back({{"name", k}, {"value", v}, {"inline", true}});
    json embed = {{"title", cut_utf8(headline(e, host), 256)}, {"description", cut_utf8(e.summary, 4096)},
                  {"color", color(e.event)}, {"fields", fields}, {"timestamp", rfc3339(e.time)}};
    // A summary quoting a commit subject must not ping anyone (@everyone).
    return {{"content", cut_utf8("fjord " + headline(e, host), 2000)},
            {"embeds", json::array({embed})},
            {"allowed_mentions", {{"parse", json::array()}}}};
}

json teams(const NotifyEvent &e, const std::string &host) {
    const char *tone = e.event == "applied" ? "Good" : e.event == "applying" ? "Accent"
                     : e.event == "refused" || e.event == "drift" ? "Warning" : "Attention";
    json fact_list = json::array({{{"title", "Host"}, {"value", host}}});
    for (const auto &[k, v] : facts(e)) fact_list.push_back({{"title", k}, {"value", v}});
    fact_list.push_back({{"title", "Time"}, {"value", rfc3339(e.time)}});
    json card = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                 {"type", "AdaptiveCard"},
                 {"version", "1.4"},
                 {"body", json::array({
                              {{"type", "TextBlock"}, {"text", "fjord " + headline(e, host)}, {"weight", "Bolder"},
                               {"size", "Medium"}, {"color", tone}, {"wrap", true}},
                              {{"type", "TextBlock"}, {"text", e.summary}, {"wrap", true}},
                              {{"type", "FactSet"}, {"facts", fact_list}},
                          })}};
    json att = {{"contentType", "application/vnd.microsoft.card.adaptive"}, {"contentUrl", nullptr}, {"content", card}};
    return {{"type", "message"}, {"attachments", json::array({att})}};
}

json matrix(const NotifyEvent &e, const std::string &host) {
    std::string text = "fjord " + headline(e, host) + ": " + e.summary;
    std::string more;
    for (const auto &[k, v] : facts(e)) more += (more.empty() ? " (" : ", ") + k + " " + v;
    return {{"msgtype", "m.notice"}, {"body", text + (more.empty() ? "" : more + ")")}};
}

/// The commit status's state in the provider's words.
std::string status_state(NotifyFormat f, const std::string &event) {
    if (event == "applying") return f == NotifyFormat::gitlab ? "running" : "pending";
    if (event == "applied") return "success";
    return f == NotifyFormat::gitlab ? "failed" : "failure";
}

/// The status's description: the outcome and its reason, in GitHub's 140 characters. The
/// status sits on the commit, so "commit 0123456789ab: " before the reason is dropped.
std::string status_description(const NotifyEvent &e) {
    bool bad = e.event == "rolled_back" || e.event == "failed" || e.event == "refused";
    std::string_view why = e.summary;
    if (std::string prefix = "commit " + short_id(e.commit) + ": "; why.starts_with(prefix)) why.remove_prefix(prefix.size());
    return cut_utf8((bad ? event_words(e.event) + ": " : std::string{}) + std::string(why), 140);
}

} // namespace

std::string cut_utf8(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    static constexpr std::string_view ellipsis = "…"; // 3 bytes
    if (max < ellipsis.size()) return {};
    std::size_t end = max - ellipsis.size();
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end; // not inside a character
    return std::string(s.substr(0, end)) + std::string(ellipsis);
}

std::string notify_payload(const NotifyEvent &e, const std::string &host) {
    json j = {{"host", host},           {"event", e.event},         {"commit", e.commit},
              {"generation", e.generation}, {"time", rfc3339(e.time)}, {"summary", e.summary}};
    return dump(j);
}

std::optional<NotifyRequest> notify_request(const NotifyConfig &t, const NotifyEvent &e, const std::string &host,
                                            const std::string &txn) {
    std::string base = trimmed_url(t.url);
    switch (t.format) {
    case NotifyFormat::json: {
        NotifyRequest r = json_post(t, t.url, notify_payload(e, host));
        if (!t.token_file.empty()) r.auth = "Authorization: Bearer ";
        return r;
    }
    case NotifyFormat::slack: return json_post(t, t.url, dump(slack(e, host)));
    case NotifyFormat::discord: return json_post(t, t.url, dump(discord(e, host)));
    case NotifyFormat::teams: return json_post(t, t.url, dump(teams(e, host)));
    case NotifyFormat::matrix: {
        // url = the homeserver's base URL and the room ID as its last segment (config checks it).
        auto slash = base.rfind('/');
        NotifyRequest r = json_post(t, base.substr(0, slash) + "/_matrix/client/v3/rooms/" + percent_encode(base.substr(slash + 1)) +
                                           "/send/m.room.message/" + percent_encode(txn),
                                    dump(matrix(e, host)));
        r.method = "PUT";
        r.auth = "Authorization: Bearer ";
        return r;
    }
    case NotifyFormat::github:
    case NotifyFormat::gitlab:
    case NotifyFormat::gitea: {
        if (!is_sha(e.commit) || e.event == "drift") return std::nullopt;
        // An operator's rollback names the commit it went back to, an image update the commit
        // the host runs: neither says anything of that commit.
        if (!e.judges_commit) return std::nullopt;
        json body = {{"state", status_state(t.format, e.event)}, {"description", status_description(e)}};
        // GitLab calls the context "name" (and takes "context" as its alias).
        body[t.format == NotifyFormat::gitlab ? "name" : "context"] = "fjord/" + host;
        NotifyRequest r = json_post(t, base + "/statuses/" + e.commit, dump(body));
        if (t.format == NotifyFormat::github) {
            r.headers.push_back("Accept: application/vnd.github+json");
            r.headers.push_back("X-GitHub-Api-Version: 2022-11-28");
            r.auth = "Authorization: Bearer ";
        } else if (t.format == NotifyFormat::gitlab) {
            r.auth = "PRIVATE-TOKEN: ";
        } else {
            r.headers.push_back("Accept: application/json");
            r.auth = "Authorization: token ";
        }
        return r;
    }
    }
    return std::nullopt;
}

} // namespace fjord
