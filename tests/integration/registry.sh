#!/bin/bash
# fjord's registry client and image update logic against a real docker-registry (TESTENV.md),
# driven by tests/registry_probe: busybox images built with podman import and pushed with
# podman push as 1.2.1, 1.2.2, 1.2.10, 1.3.0 and 1.2.3-rc1.
#
# Bearer tokens: a second docker-registry over the same storage runs with its real token auth
# (auth.token: realm, service, issuer, rootcertbundle), and a small python token server signs
# RS256 JWTs with openssl for it, after checking a Basic login. A proxy in front of the
# registry would test fjord only against our own idea of the protocol; this way the registry
# itself says whether fjord's token is good.
# Usage: registry.sh BUILD_DIR. Needs root (podman). Stops what it starts, removes its images.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh" "$1"
PROBE=$BUILD/tests/registry_probe
[ -x "$PROBE" ] || { echo "no $PROBE (ninja -C $BUILD tests/registry_probe)" >&2; exit 2; }
for tool in docker-registry podman busybox openssl python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (bash tests/deps.sh --test)" >&2; exit 2; }
done

PIDS=()
IMAGES=()
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for i in "${IMAGES[@]}"; do podman rmi -f "$i" >/dev/null 2>&1; done
  cleanup_dirs
}
trap stop_all EXIT

# expect NAME "COMMAND OUTPUT" PATTERN: pass when the output matches the extended regex.
expect() {
  if grep -qE -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "got: $2"; fi
}

# podman's two host fixes from TESTENV.md (this kernel's limits and cgroup layout), idempotent.
if [ ! -d /sys/fs/cgroup/hugetlb ] || ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null
fi
if ! grep -qs default_ulimits /etc/containers/containers.conf; then
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n' >>/etc/containers/containers.conf
fi

# The anonymous registry.
PORT=$(free_port)
mkdir -p "$T/storage"
cat >"$T/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $T/storage}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$PORT}
EOF
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
PIDS+=($!)
wait_port "$PORT" "$!" || { fail "registry starts" "$(tail -5 "$T/registry.log")"; finish; exit 1; }
REG=127.0.0.1:$PORT

# One busybox image per tag, each with its own /etc/version, so every tag has its own digest.
TAGS=(1.2.1 1.2.2 1.2.10 1.3.0 1.2.3-rc1)
mkdir -p "$T/rootfs/bin" "$T/rootfs/etc"
cp "$(command -v busybox)" "$T/rootfs/bin/busybox"
ln -s busybox "$T/rootfs/bin/sh"
for tag in "${TAGS[@]}"; do
  echo "$tag" >"$T/rootfs/etc/version"
  tar -C "$T/rootfs" -cf "$T/img.tar" .
  IMAGES+=("$REG/demo/bb:$tag")
  if ! podman import --change 'CMD ["/bin/sh"]' "$T/img.tar" "$REG/demo/bb:$tag" >"$T/podman.log" 2>&1 ||
     ! podman push --tls-verify=false "$REG/demo/bb:$tag" >>"$T/podman.log" 2>&1; then
    fail "push $tag" "$(tail -3 "$T/podman.log")"
    finish
    exit 1
  fi
done
IMG=$REG/demo/bb

# The registry's own word on a tag's digest, for comparison.
ACCEPT='application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'
curl_digest() {
  curl -sfI -H "Accept: $ACCEPT" ${2:+-H "Authorization: Bearer $2"} "http://$REG_FOR_CURL/v2/demo/bb/manifests/$1" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}'
}
REG_FOR_CURL=$REG

# --- tags, pages, version order ---
out=$("$PROBE" tags "$IMG" 2>&1 | sort | tr '\n' ' ')
expect "all five tags are listed" "$out" '^1\.2\.1 1\.2\.10 1\.2\.2 1\.2\.3-rc1 1\.3\.0 $'
# docker-registry 2.8 sends every tag at once (it ignores n= and last= on tags/list), so the
# Link pagination of the distribution spec is served by a small python pager in front of it:
# it pages the real registry's list as the spec describes and forwards all else unchanged.
cat >"$T/pager.py" <<'PY'
import json, sys, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse
upstream, port = sys.argv[1:]
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        u = urlparse(self.path)
        with urllib.request.urlopen(upstream + u.path) as r:
            body, ctype = r.read(), r.headers.get("Content-Type", "")
        link = None
        if u.path.endswith("/tags/list"):
            q = parse_qs(u.query); doc = json.loads(body); tags = sorted(doc["tags"])
            n = int(q.get("n", ["1000"])[0]); last = q.get("last", [""])[0]
            rest = [t for t in tags if t > last]
            doc["tags"] = rest[:n]; body = json.dumps(doc).encode()
            if len(rest) > n: link = '<%s?n=%d&last=%s>; rel="next"' % (u.path, n, rest[n - 1])
        self.send_response(200); self.send_header("Content-Type", ctype)
        if link: self.send_header("Link", link)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
HTTPServer(("127.0.0.1", int(port)), H).serve_forever()
PY
PPORT=$(free_port)
python3 "$T/pager.py" "http://$REG" "$PPORT" 2>"$T/pager.err" &
PIDS+=($!)
if wait_port "$PPORT" "$!"; then
  link=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PPORT/v2/demo/bb/tags/list?n=2" | tr -d '\r' | grep -i '^link:')
  out=$("$PROBE" --page-size 2 tags "127.0.0.1:$PPORT/demo/bb" 2>&1 | sort | tr '\n' ' ')
  if [ -n "$link" ]; then
    expect "tags over pages of 2 (Link headers followed)" "$out" '^1\.2\.1 1\.2\.10 1\.2\.2 1\.2\.3-rc1 1\.3\.0 $'
  else
    fail "tags over pages of 2" "the pager sent no Link header for n=2"
  fi
  out=$("$PROBE" --page-size 1 --max-pages 3 tags "127.0.0.1:$PPORT/demo/bb" 2>&1)
  expect "pages are bounded" "$out" "^error\[network\]: registry 127\.0\.0\.1:$PPORT, image demo/bb: list tags: more than 3 pages of tags; not reading on$"
else
  fail "pager starts" "$(cat "$T/pager.err")"
fi

d1210=$(curl_digest 1.2.10)
out=$("$PROBE" pick 'glob:1.2.*' "$IMG:1.2.1" 2>&1)
expect "glob:1.2.* picks 1.2.10 by version order (not 1.2.2, not 1.3.0, not the rc)" "$out" "^tag 1\.2\.10 digest sha256:"
if [ -n "$d1210" ] && [ "$out" = "tag 1.2.10 digest $d1210" ]; then
  pass "the digest is the registry's Docker-Content-Digest ($d1210)"
else
  fail "digest equals Docker-Content-Digest" "probe: $out, curl: $d1210"
fi
out=$("$PROBE" digest "$IMG:1.2.2" 2>&1)
d122=$(curl_digest 1.2.2)
if [ "$out" = "$d122" ] && [ "$d122" != "$d1210" ]; then pass "each tag has its own digest, as the registry says"; else
  fail "digest of 1.2.2" "probe: $out, curl: $d122, 1.2.10: $d1210"; fi
expect "semver:~1.2 picks 1.2.10" "$("$PROBE" pick 'semver:~1.2' "$IMG" 2>&1)" '^tag 1\.2\.10 '
expect "semver:^1.2 picks 1.3.0 (it is there; glob:1.2.* ignored it)" "$("$PROBE" pick 'semver:^1.2' "$IMG" 2>&1)" '^tag 1\.3\.0 '
expect "a pre-release only when the policy names one" "$("$PROBE" pick 'glob:1.2.*-rc*' "$IMG" 2>&1)" '^tag 1\.2\.3-rc1 '
expect "a bad tag is skipped" "$("$PROBE" pick 'glob:1.2.*' "$IMG" 1.2.10 2>&1)" '^tag 1\.2\.2 '
expect "nothing matching: none" "$("$PROBE" pick 'semver:~2.0' "$IMG" 2>&1)" '^none$'

# --- the update decision and its persistent state ---
S=$T/state
mkdir -p "$S"
out=$("$PROBE" check "$S" web "$IMG:1.2.1" 'glob:1.2.*' 2>&1)
expect "check: web: 1.2.1 -> 1.2.10 (glob:1.2.*)" "$out" "^update web: 1\.2\.1 -> 1\.2\.10 \(glob:1\.2\.\*\) digest $d1210$"
"$PROBE" mark-bad "$S" web 1.2.10 >/dev/null
out=$("$PROBE" check "$S" web "$IMG:1.2.1" 'glob:1.2.*' 2>&1)
expect "check after 1.2.10 is marked bad: 1.2.1 -> 1.2.2" "$out" '^update web: 1\.2\.1 -> 1\.2\.2 \(glob:1\.2\.\*\) '
if python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["containers"]["web"]; sys.exit(not (s["bad_tags"] == ["1.2.10"] and s["last_check"] > 0 and s["last_error"] == ""))' "$S/images"; then
  pass "STATE_DIR/images keeps the bad tag and the last check"
else
  fail "state file" "$(cat "$S/images")"
fi
[ "$(stat -c %a "$S/images")" = 600 ] && pass "state file is 0600" || fail "state file mode" "$(stat -c %a "$S/images")"

# --- clear errors ---
DEAD=$(free_port)
out=$("$PROBE" --timeout-ms 3000 tags "127.0.0.1:$DEAD/demo/bb:1.2.1" 2>&1)
expect "unreachable registry: a clear error" "$out" "^error\[network\]: registry 127\.0\.0\.1:$DEAD, image demo/bb: list tags: unreachable: "
out=$("$PROBE" tags "$REG/demo/nope:1.0" 2>&1)
expect "unknown repository: a clear error" "$out" "^error\[not_found\]: registry $REG, image demo/nope: list tags: unknown repository \(404 NAME_UNKNOWN"
out=$("$PROBE" digest "$IMG:9.9.9" 2>&1)
expect "unknown tag: a clear error" "$out" "^error\[not_found\]: registry $REG, image demo/bb: manifest of tag 9\.9\.9: unknown tag \(404 MANIFEST_UNKNOWN"
out=$("$PROBE" check "$S" web "$REG/demo/nope:1.0" 'glob:1.*' 2>&1)
expect "check names the container in its error" "$out" "^error\[not_found\]: container web: registry $REG, image demo/nope: list tags: unknown repository"

# --- bearer tokens: docker-registry's own token auth, a token server that wants a login ---
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/token.key" -out "$T/token.crt" -days 1 \
  -subj /CN=fjord-test-token >/dev/null 2>&1
cat >"$T/token_server.py" <<'PY'
# A token server for docker-registry's token auth: checks a Basic login, then issues an RS256
# JWT (signed by openssl) granting the requested scope. Logs one line per request.
import base64, json, os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse
key, crt, port, user, password, log = sys.argv[1:]
der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"], capture_output=True, check=True).stdout
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        ok = self.headers.get("Authorization", "") == want
        with open(log, "a") as f: f.write(("granted " if ok else "refused ") + q.get("scope", [""])[0] + "\n")
        if not ok:
            self.send_response(401); self.end_headers(); return
        typ, name, actions = q["scope"][0].split(":")
        now = int(time.time())
        head = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "fjord-test-issuer", "sub": user, "aud": q["service"][0], "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": os.urandom(8).hex(), "access": [{"type": typ, "name": name, "actions": actions.split(",")}]}
        signing = b64u(json.dumps(head).encode()) + "." + b64u(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(), capture_output=True, check=True).stdout
        body = json.dumps({"token": signing + "." + b64u(sig), "expires_in": 300}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
HTTPServer(("127.0.0.1", int(port)), H).serve_forever()
PY
TPORT=$(free_port)
python3 "$T/token_server.py" "$T/token.key" "$T/token.crt" "$TPORT" alice s3cret "$T/token.log" 2>"$T/token.err" &
PIDS+=($!)
wait_port "$TPORT" "$!" || fail "token server starts" "$(cat "$T/token.err")"
APORT=$(free_port)
cat >"$T/registry-auth.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $T/storage}}
http: {addr: 127.0.0.1:$APORT}
auth:
  token: {realm: "http://127.0.0.1:$TPORT/token", service: fjord-test-registry, issuer: fjord-test-issuer, rootcertbundle: $T/token.crt}
EOF
docker-registry serve "$T/registry-auth.yml" >"$T/registry-auth.log" 2>&1 &
PIDS+=($!)
if wait_port "$APORT" "$!"; then
  AREG=127.0.0.1:$APORT
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$AREG/v2/demo/bb/tags/list")
  [ "$code" = 401 ] && pass "the token registry refuses anonymous requests (401)" || fail "token registry 401" "got $code"

  out=$("$PROBE" tags "$AREG/demo/bb" 2>&1)
  expect "no login: auth refused, clearly" "$out" "^error\[auth\]: registry $AREG, image demo/bb: list tags: auth refused by token server http://127\.0\.0\.1:$TPORT/token \(HTTP 401\); no login is configured"
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$AREG" "$(printf alice:wrong | base64)" >"$T/wrong.json"
  out=$("$PROBE" --auth-file "$T/wrong.json" tags "$AREG/demo/bb" 2>&1)
  expect "a wrong password: auth refused" "$out" "^error\[auth\]: .*auth refused by token server .*\(HTTP 401\)$"
  if grep -q wrong <<<"$out"; then fail "no secret in the error" "$out"; else pass "no secret in the error"; fi

  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$AREG" "$(printf alice:s3cret | base64)" >"$T/auth.json"
  : >"$T/token.log"
  out=$("$PROBE" --auth-file "$T/auth.json" pick 'glob:1.2.*' "$AREG/demo/bb" 2>&1)
  grants=$(grep -c '^granted repository:demo/bb:pull$' "$T/token.log")
  REG_FOR_CURL=$AREG
  token=$(curl -s -u alice:s3cret "http://127.0.0.1:$TPORT/token?service=fjord-test-registry&scope=repository:demo/bb:pull" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  ad=$(curl_digest 1.2.10 "$token")
  if [ -n "$ad" ] && [ "$out" = "tag 1.2.10 digest $ad" ]; then
    pass "with a login: token fetched, tags listed and digest read through token auth"
  else
    fail "bearer flow" "probe: $out, curl: $ad"
  fi
  # One token serves both requests (tags, then the manifest): the client keeps it.
  [ "$grants" = 1 ] && pass "one token for tags and digest" || fail "token reuse" "$grants grants"
else
  fail "token registry starts" "$(tail -5 "$T/registry-auth.log")"
fi

finish
