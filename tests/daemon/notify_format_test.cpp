// Each notify.format's request, checked against its provider's documented API (the references
// are listed in src/daemon/notify_format.cpp): method, URL, headers, the token's header, body.
#include "daemon/notify.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace fjord;
using json = nlohmann::json;

namespace {

const std::string sha = "0123456789abcdef0123456789abcdef01234567";

NotifyEvent ev(const std::string &event, const std::string &summary) { return NotifyEvent{event, sha, 7, 1700000000, summary, false}; }

NotifyRequest req(NotifyFormat f, const std::string &url, const NotifyEvent &e, const std::string &token_file = "/etc/fjord/t") {
    NotifyConfig t{url, {"applied"}, f, token_file};
    auto r = notify_request(t, e, "web1", "fjord-1-1");
    REQUIRE(r);
    return *r;
}

bool has_header(const NotifyRequest &r, const std::string &h) { return std::find(r.headers.begin(), r.headers.end(), h) != r.headers.end(); }

} // namespace

TEST_CASE("notify json: today's body, POSTed to the url; a token_file adds a bearer token") {
    auto r = req(NotifyFormat::json, "https://hooks.example.net/fjord", ev("applied", "applied 0123 as generation 7"), "");
    CHECK(r.method == "POST");
    CHECK(r.url == "https://hooks.example.net/fjord");
    CHECK(has_header(r, "Content-Type: application/json"));
    CHECK(r.auth.empty());
    CHECK(r.body == notify_payload(ev("applied", "applied 0123 as generation 7"), "web1"));
    auto with = req(NotifyFormat::json, "https://hooks.example.net/fjord", ev("applied", "x"));
    CHECK(with.auth == "Authorization: Bearer ");
    CHECK(with.token_file == "/etc/fjord/t");
}

TEST_CASE("notify slack: text and an attachment with color, title, text and fields (Mattermost and Rocket.Chat take it too)") {
    auto r = req(NotifyFormat::slack, "https://hooks.slack.com/services/T/B/X", ev("rolled_back", "check <web> & more failed"), "");
    CHECK(r.method == "POST");
    CHECK(r.url == "https://hooks.slack.com/services/T/B/X");
    CHECK(has_header(r, "Content-Type: application/json"));
    CHECK(r.auth.empty());
    auto j = json::parse(r.body);
    CHECK(j["text"] == "fjord web1: rolled back");
    REQUIRE(j["attachments"].size() == 1);
    const auto &a = j["attachments"][0];
    CHECK(a["color"] == "#e01e5a");
    CHECK(a["title"] == "web1: rolled back");
    CHECK(a["text"] == "check &lt;web&gt; &amp; more failed"); // Slack's three escapes: no <!channel> from a summary
    CHECK(a["fields"][0] == json{{"title", "Commit"}, {"value", "0123456789ab"}, {"short", true}});
    CHECK(a["fields"][1] == json{{"title", "Generation"}, {"value", "7"}, {"short", true}});
    CHECK(a["ts"] == 1700000000);
}

TEST_CASE("notify discord: content and one embed within Discord's limits, no mentions") {
    std::string long_summary(5000, 'x');
    auto r = req(NotifyFormat::discord, "https://discord.com/api/webhooks/1/abc", ev("applied", long_summary), "");
    CHECK(r.method == "POST");
    CHECK(has_header(r, "Content-Type: application/json"));
    auto j = json::parse(r.body);
    CHECK(j["content"] == "fjord web1: applied");
    REQUIRE(j["embeds"].size() == 1);
    const auto &e = j["embeds"][0];
    CHECK(e["title"] == "web1: applied");
    CHECK(e["description"].get<std::string>().size() <= 4096);
    CHECK(e["color"] == 0x2EB67D);
    CHECK(e["timestamp"] == "2023-11-14T22:13:20Z");
    CHECK(e["fields"][0] == json{{"name", "Commit"}, {"value", "0123456789ab"}, {"inline", true}});
    CHECK(j["allowed_mentions"]["parse"] == json::array());
}

TEST_CASE("notify teams: a message with one Adaptive Card attachment") {
    auto r = req(NotifyFormat::teams, "https://example.webhook.office.com/webhookb2/x", ev("refused", "deletes 30 files (limit 20)"), "");
    CHECK(r.method == "POST");
    auto j = json::parse(r.body);
    CHECK(j["type"] == "message");
    REQUIRE(j["attachments"].size() == 1);
    const auto &a = j["attachments"][0];
    CHECK(a["contentType"] == "application/vnd.microsoft.card.adaptive");
    CHECK(a["contentUrl"].is_null());
    const auto &card = a["content"];
    CHECK(card["type"] == "AdaptiveCard");
    CHECK(card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json");
    CHECK(card["version"] == "1.4");
    CHECK(card["body"][0]["type"] == "TextBlock");
    CHECK(card["body"][0]["text"] == "fjord web1: refused");
    CHECK(card["body"][0]["color"] == "Warning");
    CHECK(card["body"][1]["text"] == "deletes 30 files (limit 20)");
    CHECK(card["body"][2]["type"] == "FactSet");
    CHECK(card["body"][2]["facts"][0] == json{{"title", "Host"}, {"value", "web1"}});
}

TEST_CASE("notify matrix: PUT .../rooms/{roomId}/send/m.room.message/{txnId}, bearer token, an m.notice") {
    auto r = req(NotifyFormat::matrix, "https://matrix.example.org/!AbC:example.org", ev("failed", "render: bad template"));
    CHECK(r.method == "PUT");
    CHECK(r.url == "https://matrix.example.org/_matrix/client/v3/rooms/%21AbC%3Aexample.org/send/m.room.message/fjord-1-1");
    CHECK(r.auth == "Authorization: Bearer ");
    CHECK(r.token_file == "/etc/fjord/t");
    CHECK(has_header(r, "Content-Type: application/json"));
    auto j = json::parse(r.body);
    CHECK(j["msgtype"] == "m.notice");
    CHECK(j["body"] == "fjord web1: failed: render: bad template (Commit 0123456789ab, Generation 7)");
    // Under a path prefix, the homeserver's base keeps it.
    CHECK(req(NotifyFormat::matrix, "https://example.org/matrix/!r:example.org/", ev("applied", "x")).url ==
          "https://example.org/matrix/_matrix/client/v3/rooms/%21r%3Aexample.org/send/m.room.message/fjord-1-1");
}

TEST_CASE("notify github: POST /repos/{owner}/{repo}/statuses/{sha}, context fjord/<host>, 140-character description") {
    auto r = req(NotifyFormat::github, "https://api.github.com/repos/ops/fleet", ev("applying", "applying generation 8: 3 files, 0 units"));
    CHECK(r.method == "POST");
    CHECK(r.url == "https://api.github.com/repos/ops/fleet/statuses/" + sha);
    CHECK(r.auth == "Authorization: Bearer ");
    CHECK(has_header(r, "Accept: application/vnd.github+json"));
    CHECK(has_header(r, "X-GitHub-Api-Version: 2022-11-28"));
    CHECK(has_header(r, "Content-Type: application/json"));
    auto j = json::parse(r.body);
    CHECK(j == json{{"state", "pending"}, {"context", "fjord/web1"}, {"description", "applying generation 8: 3 files, 0 units"}});
    CHECK(json::parse(req(NotifyFormat::github, "https://api.github.com/repos/ops/fleet", ev("applied", "ok")).body)["state"] == "success");
    // A failure says which, and why, cut to GitHub's 140 characters on a character boundary.
    std::string why = "commit 0123: apply generation 8: check web: " + std::string(200, 'y');
    auto f = json::parse(req(NotifyFormat::github, "https://api.github.com/repos/ops/fleet/", ev("rolled_back", why)).body);
    CHECK(f["state"] == "failure");
    std::string d = f["description"];
    CHECK(d.starts_with("rolled back: commit 0123: apply generation 8: check web: ")); // not this commit's id: kept
    CHECK(d.size() <= 140);
    CHECK(d.ends_with("…"));
    CHECK(json::parse(req(NotifyFormat::github, "https://h/repos/o/r", ev("refused", "x")).body)["description"] == "refused: x");
    // The status is on the commit: the summary's "commit 0123456789ab: " is not repeated.
    CHECK(json::parse(req(NotifyFormat::github, "https://h/repos/o/r", ev("failed", "commit 0123456789ab: render: bad key")).body)["description"] ==
          "failed: render: bad key");
}

TEST_CASE("notify gitlab: POST /projects/:id/statuses/:sha with PRIVATE-TOKEN, running|success|failed, name") {
    auto r = req(NotifyFormat::gitlab, "https://gitlab.example.com/api/v4/projects/ops%2Ffleet", ev("applying", "applying"));
    CHECK(r.method == "POST");
    CHECK(r.url == "https://gitlab.example.com/api/v4/projects/ops%2Ffleet/statuses/" + sha);
    CHECK(r.auth == "PRIVATE-TOKEN: ");
    auto j = json::parse(r.body);
    CHECK(j == json{{"state", "running"}, {"name", "fjord/web1"}, {"description", "applying"}});
    CHECK(json::parse(req(NotifyFormat::gitlab, "https://g/api/v4/projects/1", ev("applied", "ok")).body)["state"] == "success");
    CHECK(json::parse(req(NotifyFormat::gitlab, "https://g/api/v4/projects/1", ev("failed", "no")).body)["state"] == "failed");
}

TEST_CASE("notify gitea/forgejo: POST /api/v1/repos/{owner}/{repo}/statuses/{sha}, Authorization: token") {
    auto r = req(NotifyFormat::gitea, "https://git.example.net/api/v1/repos/ops/fleet", ev("applied", "applied"));
    CHECK(r.method == "POST");
    CHECK(r.url == "https://git.example.net/api/v1/repos/ops/fleet/statuses/" + sha);
    CHECK(r.auth == "Authorization: token ");
    auto j = json::parse(r.body);
    CHECK(j == json{{"state", "success"}, {"context", "fjord/web1"}, {"description", "applied"}});
    CHECK(json::parse(req(NotifyFormat::gitea, "https://g/api/v1/repos/o/r", ev("applying", "a")).body)["state"] == "pending");
    CHECK(json::parse(req(NotifyFormat::gitea, "https://g/api/v1/repos/o/r", ev("rolled_back", "b")).body)["state"] == "failure");
}

TEST_CASE("notify: a commit status needs a commit; drift is no commit's outcome") {
    for (auto f : {NotifyFormat::github, NotifyFormat::gitlab, NotifyFormat::gitea}) {
        NotifyConfig t{"https://h/repos/o/r", {"failed", "drift"}, f, "/t"};
        NotifyEvent poll_failed{"failed", "", 0, 1, "poll: connection refused", true};
        CHECK_FALSE(notify_request(t, poll_failed, "web1", "x"));
        CHECK_FALSE(notify_request(t, ev("drift", "1 drifted path"), "web1", "x"));
        // An operator's rollback names the commit the host went back to: no failure on it. An
        // automatic rollback names the commit that failed: a failure there.
        NotifyEvent to = ev("rolled_back", "rolled back to generation 7 by the operator");
        to.judges_commit = false;
        CHECK_FALSE(notify_request(t, to, "web1", "x"));
        // Nor does an image update, whatever its outcome, or a failed rollback.
        for (const char *what : {"applying", "applied", "rolled_back", "failed"}) {
            NotifyEvent img = ev(what, "image update nginx 1.25.4");
            img.judges_commit = false;
            CHECK_FALSE(notify_request(t, img, "web1", "x"));
        }
        auto failed = notify_request(t, ev("rolled_back", "health check http failed"), "web1", "x");
        REQUIRE(failed);
        CHECK(failed->body.find("fail") != std::string::npos);
    }
    // Chat formats report both.
    NotifyConfig chat{"https://h/x", {"failed"}, NotifyFormat::slack, ""};
    CHECK(notify_request(chat, NotifyEvent{"failed", "", 0, 1, "poll: connection refused", true}, "web1", "x"));
}

TEST_CASE("notify: cut_utf8 cuts on a character boundary") {
    CHECK(cut_utf8("short", 140) == "short");
    CHECK(cut_utf8("abcdefgh", 6) == "abc…");
    CHECK(cut_utf8("ab\xc3\xa6\xc3\xb8\xc3\xa5", 7) == "ab\xc3\xa6…"); // "abæøå" in 7 bytes: "abæ…"
    CHECK(cut_utf8("ab\xc3\xa6\xc3\xb8\xc3\xa5", 6) == "ab…");         // never half a character
    CHECK(cut_utf8("abcdef", 2).empty());
}

TEST_CASE("notify: a token file holds one line; its newline is dropped") {
    CHECK(*token_from_file_text("ghp_abc\n", "/t") == "ghp_abc");
    CHECK(*token_from_file_text("glpat-x \r\n", "/t") == "glpat-x");
    CHECK(token_from_file_text("\n", "/t").error().message == "token_file /t is empty");
    auto two = token_from_file_text("a\nX-Injected: 1\n", "/t");
    REQUIRE_FALSE(two);
    CHECK(two.error().message.find("one line") != std::string::npos);
    CHECK(two.error().message.find("a\n") == std::string::npos);
}
