# Sourced by the integration tests: counting, temp folders, a fjord config writer, git helpers,
# and the services they talk to (git daemon, webhook receiver).
# Each test prints "PASS name" / "FAIL name: why" and ends with "RESULT passed=N failed=M".
PASSED=0
FAILED=0
BUILD=${BUILD:-${1:-build}}
BUILD=$(cd "$BUILD" && pwd)
FJORDD=$BUILD/fjordd
FJORDCTL=$BUILD/fjordctl
export GIT_AUTHOR_NAME=fjord-test GIT_AUTHOR_EMAIL=t@fjord.invalid GIT_COMMITTER_NAME=fjord-test GIT_COMMITTER_EMAIL=t@fjord.invalid

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
# `CMD | has PATTERN`: grep that reads all its input. `grep -q` exits at the first match, so
# under pipefail a CMD still writing gets SIGPIPE and the pipeline fails at random.
has() { grep "$@" >/dev/null; }
# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT [PID]: until something accepts on 127.0.0.1:PORT (10 s at most); fails at once
# when PID, the server that should listen there, has died.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_git_daemon DIR: serves the repos in DIR over git:// on a free loopback port, as
# git://127.0.0.1:$GITD_PORT/NAME; waits until it accepts. cleanup_dirs stops it.
GITD_PID="" GITD_PORT=""
start_git_daemon() {
  GITD_PORT=$(free_port)
  git daemon --reuseaddr --listen=127.0.0.1 --port="$GITD_PORT" --base-path="$1" --export-all "$1" >/dev/null 2>&1 &
  GITD_PID=$!
  wait_port "$GITD_PORT" "$GITD_PID"
}
stop_git_daemon() {
  [ -n "$GITD_PID" ] && kill "$GITD_PID" 2>/dev/null && wait "$GITD_PID" 2>/dev/null
  GITD_PID=""
}

# start_receiver PORT OUT [slow]: the web service webhooks are sent to, on 127.0.0.1:PORT. It
# appends each POST body as a line to OUT and answers 200; "slow" first notes the arrival in
# OUT.arrived, then sleeps 60 s (far past fjord's 5 s timeout) before answering. Waits until it
# accepts. One at a time (RX_PID): stop_receiver stops it, and so does cleanup_dirs.
RX_PID=""
start_receiver() {
  cat >"$T/receiver.py" <<'PY'
import http.server, sys, time
port, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "slow":
            with open(out + ".arrived", "ab") as f: f.write(body + b"\n")
            time.sleep(60)
        with open(out, "ab") as f: f.write(body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
  python3 "$T/receiver.py" "$1" "$2" "${3:-up}" &
  RX_PID=$!
  wait_port "$1" "$RX_PID"
}
stop_receiver() {
  [ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null && wait "$RX_PID" 2>/dev/null
  RX_PID=""
}
# start_sshd DIR USER: an sshd of its own on a free loopback port ($SSHD_PORT) that lets USER
# (made with git-shell when missing; needs root) in with the keys in DIR/authorized_keys, its
# host key DIR/host_ed25519 and a known_hosts file for it, DIR/known_hosts. cleanup_dirs stops it.
SSHD_PID="" SSHD_PORT=""
start_sshd() {
  local d=$1 user=$2
  id "$user" >/dev/null 2>&1 || useradd -m -s /usr/bin/git-shell "$user"
  usermod -p '*' "$user" # '*' is no password but not locked; sshd refuses a locked account
  mkdir -p /run/sshd "$d"
  ssh-keygen -q -N '' -C '' -t ed25519 -f "$d/host_ed25519"
  touch "$d/authorized_keys"
  chmod 644 "$d/authorized_keys"
  SSHD_PORT=$(free_port)
  printf '%s\n' "Port $SSHD_PORT" "ListenAddress 127.0.0.1" "HostKey $d/host_ed25519" "PidFile $d/sshd.pid" \
    "AuthorizedKeysFile $d/authorized_keys" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
    "UsePAM no" "StrictModes no" "AllowUsers $user" >"$d/sshd_config"
  /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
  SSHD_PID=$!
  echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$d/host_ed25519.pub")" >"$d/known_hosts"
  wait_port "$SSHD_PORT" "$SSHD_PID"
}
stop_sshd() {
  [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
  SSHD_PID=""
}
finish() { echo "RESULT passed=$PASSED failed=$FAILED"; [ "$FAILED" -eq 0 ]; }

# A scratch folder removed when the test exits.
T=$(mktemp -d /tmp/fjord-it-XXXXXX)
cleanup_dirs() { stop_git_daemon; stop_receiver; stop_sshd; rm -rf "$T"; }
trap cleanup_dirs EXIT

# write_config FILE URL ROOT STATE [extra TOML lines...]
write_config() {
  local file=$1 url=$2 root=$3 state=$4
  shift 4
  {
    printf '[source]\nurl = "%s"\nbranch = "main"\npath = "hosts/web1"\npoll_interval = "1s"\n' "$url"
    printf '[apply]\nroot = "%s"\n' "$root"
    printf '[state]\ndir = "%s"\n' "$state"
    printf '[metrics]\ntextfile = ""\n'
    for l in "$@"; do printf '%s\n' "$l"; done
  } >"$file"
}

# A tree fingerprint: every path with its kind, mode and content hash (ignores times).
fingerprint() {
  (cd "$1" && find . -mindepth 1 -printf '%y %m %p %l\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha1sum)
}

# new_repo DIR: a Git repo with branch main.
new_repo() { git init -q -b main "$1"; }
commit_all() { git -C "$1" add -A && git -C "$1" commit -qm "${2:-change}" --allow-empty; }

# gen_files STATE N: generation N's files record as text, one line a path, as fjord reads it:
# generations/N/files is a small index of chunks (STATE/chunks/ID, each kept twice as ID and
# ID.copy and checked against its id here too); a generation written before chunks holds the
# text itself. Prints nothing (exit 1) when it cannot be read.
gen_files() { perl -e "$GEN_FILES_PL" files "$1" "$2"; }
# gen_chunk STATE N REGEX: the path of the chunk (its first copy) of generation N holding a line
# that matches REGEX (perl), e.g. gen_chunk "$STATE" 1 '^f /etc/motd '.
gen_chunk() { perl -e "$GEN_FILES_PL" chunk "$1" "$2" "$3"; }
GEN_FILES_PL='
use strict; use warnings; use Digest::SHA qw(sha1_hex);
my ($cmd, $state, $n, $re) = @ARGV;
sub slurp { my ($p) = @_; open(my $f, "<:raw", $p) or return undef; local $/; my $d = <$f>; return defined $d ? $d : "" }
sub id_of { my ($d) = @_; return sha1_hex("blob " . length($d) . "\0" . $d) }
sub body { my ($t) = @_; return undef unless defined $t; return $t unless $t =~ /^sealed ([0-9a-f]{40})\n/;
  my $b = substr($t, 48); return id_of($b) eq $1 ? $b : undef }
my $p = "$state/generations/$n/files";
my $b = body(slurp($p)); $b = body(slurp("$p.copy")) unless defined $b;
exit 1 unless defined $b;
unless ($b =~ /^fjord-index 1\n/) { print $b if $cmd eq "files"; exit 0 }
my ($header) = $b =~ /^header (.*)$/m; my ($meta) = $b =~ /^meta (\S+)$/m;
my @ids = ($b =~ /^p (\S+)$/mg, $meta);
print "$header\n" if $cmd eq "files";
for my $id (grep { $_ ne "-" } @ids) {
  my ($c, $at);
  for my $f ("$state/chunks/$id", "$state/chunks/$id.copy") { my $d = slurp($f); if (defined $d && id_of($d) eq $id) { ($c, $at) = ($d, $f); last } }
  exit 1 unless defined $c;
  if ($cmd eq "files") { print $c } elsif ($c =~ /$re/m) { print "$state/chunks/$id\n"; exit 0 }
}
exit($cmd eq "files" ? 0 : 1);
'
