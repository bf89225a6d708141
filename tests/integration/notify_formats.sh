#!/bin/bash
# [[notify]] formats end to end (issue 19 item 10): the real fjordd --once against a real local
# Git repo, sending to a python3 HTTP receiver on loopback that records every request (method,
# path, headers, body). For each format the request is checked against the provider's
# documented API: json (with a bearer token), slack, discord, teams, matrix (PUT, bearer), and
# commit statuses for github, gitlab and gitea (pending while applying, then success; failure
# with the reason after a failed health check). Tokens never reach fjordd's output, status,
# history or state dir; a missing token file fails that delivery only; bad formats and missing
# tokens are config errors naming file:line:col.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"

P=$(free_port)
R=$T/repo; ROOT=$T/root; STATE=$T/state; CFG=$T/fjord.toml; LOG=$T/fjordd.log; OUT=$T/requests.jsonl
H=$R/hosts/web1
HOST=$(uname -n)
new_repo "$R"
mkdir -p "$H/files/etc" "$ROOT"
echo "one" >"$H/files/etc/app.conf"
printf '[[check]]\nname = "ok"\nexec = ["true"]\nperiod = "100ms"\n' >"$H/fjord.toml"
commit_all "$R" "first"

# The tokens: one file each, as an operator keeps them (0600).
for t in json matrix github gitlab gitea; do
  echo "TOKEN-$t-$RANDOM$RANDOM" >"$T/$t.token"
  chmod 600 "$T/$t.token"
done
tok() { tr -d '\n' <"$T/$1.token"; }

# The receiver: every request as one JSON line; 201 for commit statuses as the Git hosts answer.
cat >"$T/rx.py" <<'PY'
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        rec = {"method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode("utf-8", "replace")}
        with open(out, "a") as f: f.write(json.dumps(rec) + "\n")
        self.send_response(201 if "/statuses/" in self.path else 200)
        self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    do_POST = do_PUT = handle_any
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$T/rx.py" "$P" "$OUT" &
RX_PID=$! # stopped by cleanup_dirs (lib.sh)
wait_port "$P" "$RX_PID"

U="http://127.0.0.1:$P"
write_config "$CFG" "$R" "$ROOT" "$STATE" \
  '[health]' 'timeout = "10s"' 'require_source_reachable = false' \
  '[prerequisites]' 'mode = "off"' \
  '[[notify]]' "url = \"$U/json/hook\"" "token_file = \"$T/json.token\"" 'events = ["applying", "applied", "rolled_back"]' \
  '[[notify]]' "url = \"$U/slack/services/T0/B0/SECRET-PATH\"" 'format = "slack"' \
  '[[notify]]' "url = \"$U/discord/api/webhooks/1/SECRET-PATH\"" 'format = "discord"' \
  '[[notify]]' "url = \"$U/teams/webhookb2/SECRET-PATH\"" 'format = "teams"' \
  '[[notify]]' "url = \"$U/mx/!room:example.org\"" 'format = "matrix"' "token_file = \"$T/matrix.token\"" \
  '[[notify]]' "url = \"$U/gh/repos/ops/fleet\"" 'format = "github"' "token_file = \"$T/github.token\"" \
  '[[notify]]' "url = \"$U/gl/api/v4/projects/ops%2Ffleet\"" 'format = "gitlab"' "token_file = \"$T/gitlab.token\"" \
  '[[notify]]' "url = \"$U/gt/api/v1/repos/ops/fleet\"" 'format = "gitea"' "token_file = \"$T/gitea.token\""

# check.py STAGE SHA: checks the recorded requests of one fjordd run; prints PASS/FAIL lines.
cat >"$T/check.py" <<'PY'
import json, sys
out, stage, sha, host, tdir = sys.argv[1:6]
reqs = [json.loads(l) for l in open(out)]
tok = lambda n: open(f"{tdir}/{n}.token").read().strip()
def check(name, ok, why=""):
    print(("PASS " if ok else "FAIL ") + f"{stage}: {name}" + ("" if ok else f": {why}"))
def at(prefix):
    return [r for r in reqs if r["path"].startswith(prefix)]
def body(r): return json.loads(r["body"])
ok_run = stage == "applied"
want = "applied" if ok_run else "rolled_back"

# json: today's payload, one per subscribed event, a bearer token from its file.
js = at("/json/hook")
check("json: POST /json/hook, events applying then " + want, [r["method"] for r in js] == ["POST", "POST"] and
      [body(r)["event"] for r in js] == ["applying", want], [(r["method"], r["body"]) for r in js])
check("json: Content-Type and Authorization: Bearer <token>", all(r["headers"].get("content-type") == "application/json" and
      r["headers"].get("authorization") == "Bearer " + tok("json") for r in js), [r["headers"] for r in js])
check("json: host, commit, generation, time, summary", js and set(body(js[-1])) == {"host", "event", "commit", "generation", "time", "summary"}
      and body(js[-1])["commit"] == sha and body(js[-1])["host"] == host, js and js[-1]["body"])

sl = at("/slack/services/T0/B0/SECRET-PATH")
check("slack: one POST with text and an attachment (color, title, text, fields)", len(sl) == 1 and sl[0]["method"] == "POST" and
      body(sl[0])["text"] == f"fjord {host}: {want.replace('_', ' ')}" and
      {"color", "title", "text", "fields"} <= set(body(sl[0])["attachments"][0]) and
      sl[0]["headers"].get("content-type") == "application/json" and "authorization" not in sl[0]["headers"], sl)

dc = at("/discord/api/webhooks/1/SECRET-PATH")
check("discord: one POST with content, one embed (title, description, color, timestamp), no mentions",
      len(dc) == 1 and body(dc[0])["content"] == f"fjord {host}: {want.replace('_', ' ')}" and
      {"title", "description", "color", "timestamp", "fields"} <= set(body(dc[0])["embeds"][0]) and
      body(dc[0])["allowed_mentions"] == {"parse": []}, dc)

tm = at("/teams/webhookb2/SECRET-PATH")
check("teams: one POST, a message with an Adaptive Card", len(tm) == 1 and body(tm[0])["type"] == "message" and
      body(tm[0])["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive" and
      body(tm[0])["attachments"][0]["content"]["type"] == "AdaptiveCard", tm)

mx = at("/mx/")
pre = "/mx/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/"
check("matrix: PUT " + pre + "{txnId}, Authorization: Bearer <token>, an m.notice",
      len(mx) == 1 and mx[0]["method"] == "PUT" and mx[0]["path"].startswith(pre) and len(mx[0]["path"]) > len(pre) and
      mx[0]["headers"].get("authorization") == "Bearer " + tok("matrix") and body(mx[0])["msgtype"] == "m.notice" and
      sha[:12] in body(mx[0])["body"], mx)

final = "success" if ok_run else "failure"
for name, prefix, auth, states, ctx in [
        ("github", "/gh/repos/ops/fleet/statuses/", "authorization", ["pending", final], "context"),
        ("gitlab", "/gl/api/v4/projects/ops%2Ffleet/statuses/", "private-token", ["running", "success" if ok_run else "failed"], "name"),
        ("gitea", "/gt/api/v1/repos/ops/fleet/statuses/", "authorization", ["pending", final], "context")]:
    st = at(prefix.split("/statuses/")[0])
    want_auth = {"github": "Bearer ", "gitlab": "", "gitea": "token "}[name] + tok(name)
    check(f"{name}: POST {prefix}<sha> twice, states {states}", [r["method"] for r in st] == ["POST", "POST"] and
          all(r["path"] == prefix + sha for r in st) and [body(r)["state"] for r in st] == states,
          [(r["method"], r["path"], r["body"]) for r in st])
    check(f"{name}: {auth} header carries the token; JSON body", all(r["headers"].get(auth) == want_auth and
          r["headers"].get("content-type") == "application/json" for r in st), [r["headers"] for r in st])
    check(f"{name}: {ctx} fjord/{host}, description at most 140 characters",
          all(body(r)[ctx] == "fjord/" + host and 0 < len(body(r)["description"]) <= 140 for r in st), [r["body"] for r in st])
    if name == "github":
        check("github: Accept: application/vnd.github+json", all(r["headers"].get("accept") == "application/vnd.github+json" for r in st), st)
    if not ok_run and st:
        d = body(st[-1])["description"]
        check(f"{name}: the failure's description says rolled back and why", d.startswith("rolled back: apply generation 2: check web: exec false: exit status 1"), d)
PY

run_check() { # run_check STAGE SHA
  python3 "$T/check.py" "$OUT" "$1" "$2" "$HOST" "$T" >"$T/check.out" 2>&1 || echo "FAIL $1: checker: $(tail -3 "$T/check.out")" >>"$T/check.out"
  while IFS= read -r line; do
    case $line in
      PASS\ *) pass "${line#PASS }" ;;
      FAIL\ *) n=${line#FAIL }; fail "${n%%: *}" "${n#*: }" ;;
      *) fail "checker" "$line" ;;
    esac
  done <"$T/check.out"
}

no_tokens() { # no_tokens WHAT FILE...: no token appears in any FILE
  local t hit=""
  for t in json matrix github gitlab gitea; do grep -rqF "$(tok $t)" "$@" 2>/dev/null && hit="$hit $t"; done
  [ -z "$hit" ] && pass "no token in $1" || fail "tokens in $1" "$hit"
}

# --- config errors: unknown format, missing token ----------------------------------------------
cp "$CFG" "$T/bad.toml"
sed -i 's/^format = "discord"$/format = "discrod"/' "$T/bad.toml"
"$FJORDD" --config "$T/bad.toml" --once >"$T/bad.out" 2>&1
rc=$?
if [ $rc != 0 ] && grep -qE "bad.toml:[0-9]+:[0-9]+: notify\[2\]\.format: unknown format \"discrod\" \(use json, slack, discord, teams, matrix, github, gitlab or gitea\)" "$T/bad.out" &&
  [ ! -e "$ROOT/etc/app.conf" ]; then
  pass "an unknown format is a config error naming file:line:col, key, value and the valid ones; nothing applied"
else
  fail "unknown format" "rc=$rc $(cat "$T/bad.out")"
fi
cp "$CFG" "$T/bad.toml"
sed -i "\|token_file = \"$T/github.token\"|d" "$T/bad.toml"
"$FJORDD" --config "$T/bad.toml" --once >"$T/bad.out" 2>&1
rc=$?
if [ $rc != 0 ] && grep -qE "bad.toml:[0-9]+:[0-9]+: notify\[5\]\.token_file: missing \(format \"github\" needs a token" "$T/bad.out"; then
  pass "a commit-status format without token_file is a config error"
else
  fail "missing token_file" "rc=$rc $(cat "$T/bad.out")"
fi

# --- a good commit: applying, then applied --------------------------------------------------------
good=$(git -C "$R" rev-parse HEAD)
"$FJORDD" --config "$CFG" --once >"$LOG" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(cat "$ROOT/etc/app.conf")" = one ] && pass "fjordd --once applies the first commit (rc 0)" || fail "first apply" "rc=$rc $(tail -5 "$LOG")"
run_check applied "$good"

# --- a commit whose health check fails: rolled back, failure statuses with the reason -------------
: >"$OUT"
echo "two" >"$H/files/etc/app.conf"
printf '[[check]]\nname = "web"\nexec = ["false"]\nperiod = "100ms"\nfailure_threshold = 2\n' >"$H/fjord.toml"
commit_all "$R" "second: a failing check"
bad=$(git -C "$R" rev-parse HEAD)
"$FJORDD" --config "$CFG" --once >>"$LOG" 2>&1
rc=$?
[ $rc = 1 ] && [ "$(cat "$ROOT/etc/app.conf")" = one ] && pass "the failing check rolls back (rc 1, app.conf still one)" ||
  fail "rollback" "rc=$rc $(tail -5 "$LOG")"
run_check rolled_back "$bad"

# --- a token file gone, another readable by others: those deliveries fail, logged with the path,
# never the token; the apply and the other targets go on ----------------------------------------
: >"$OUT"
mv "$T/gitea.token" "$T/gitea.token.away"
chmod 644 "$T/gitlab.token"
printf '[[check]]\nname = "ok"\nexec = ["true"]\nperiod = "100ms"\n' >"$H/fjord.toml"
commit_all "$R" "third: good again"
"$FJORDD" --config "$CFG" --once >>"$LOG" 2>&1
rc=$?
mv "$T/gitea.token.away" "$T/gitea.token"
chmod 600 "$T/gitlab.token"
if [ $rc = 0 ] && [ "$(cat "$ROOT/etc/app.conf")" = two ] && ! grep -q '"/gt/' "$OUT" && grep -q '"/gh/' "$OUT" &&
  grep -q "notify: applied to http://127.0.0.1:$P/… not delivered after 1 attempt: token_file $T/gitea.token: .*No such file" "$LOG"; then
  pass "a missing token file fails that delivery only, logged with its path; the apply and the other targets go on"
else
  fail "missing token file" "rc=$rc $(grep notify "$LOG" | tail -3)"
fi
if ! grep -q '"/gl/' "$OUT" &&
  grep -q "notify: applied to http://127.0.0.1:$P/… not delivered after 1 attempt: token_file $T/gitlab.token: mode 0644 lets other users read the token; chmod 0600 it" "$LOG"; then
  pass "a token file others may read is refused at send time, as the age identity is"
else
  fail "token file mode" "$(grep notify "$LOG" | tail -3)"
fi

# --- tokens and secret URL paths stay out of everything fjord writes --------------------------------
"$FJORDCTL" --config "$CFG" status --json >"$T/status.out" 2>&1
"$FJORDCTL" --config "$CFG" history >"$T/history.out" 2>&1
no_tokens "fjordd's output (three runs)" "$LOG"
no_tokens "fjordctl status and history" "$T/status.out" "$T/history.out"
no_tokens "the state dir" "$STATE"
grep -q "SECRET-PATH" "$LOG" && fail "webhook path in the log" "$(grep SECRET-PATH "$LOG" | head -2)" ||
  pass "webhook URL paths (Slack's, Discord's, Teams' secrets) never reach the log"

finish
