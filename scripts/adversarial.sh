#!/usr/bin/env bash
# The adversarial suite of the S3 endpoint: the built binary on a fresh data dir, share links
# issued with the admin CLI and users' own pre-signed URLs (boto3, SigV4 and SigV2), some of them
# killed (revoked, expired, key disabled, user disabled, grant removed), then thousands of
# variants of each sent as exact bytes by blackbox/adversarial.py, which judges every answer,
# hashes every object before and after, and reads the audit of every dead link.
# Usage: scripts/adversarial.sh PATH/TO/bucketshare
# Ends with `adversarial: N variants, B bypasses` and `adversarial: K passed`; exits non-zero on
# any bypass, 5xx or audit gap.
# ADVERSARIAL_RESULTS=FILE keeps every variant and its answer there, one JSON line each.
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")/.."
. scripts/env.sh
work=$(mktemp -d)
data="$work/data"
fixture="$work/fixture"
mkdir -p "$fixture"
pid=""
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$pid" ] && wait "$pid" 2>/dev/null; pid=""; return 0; }
trap 'stop; rm -rf "$work"' EXIT
fail() { echo "FAIL  $*" >&2; echo "--- server log:" >&2; tail -n 30 "$work/server.log" >&2 || true; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

console_port=$(free_port); s3_port=$(free_port)
endpoint="http://127.0.0.1:$s3_port"
cli() { "$bin" --data-dir "$data" --public-s3-url "$endpoint" "$@"; }
# quietly CMD…: the CLI without its output (changes that stop links say so on stderr).
quietly() { cli "$@" >/dev/null 2>"$work/cli.err" || fail "bucketshare $*: $(cat "$work/cli.err")"; }
# adversarial PHASE: one phase of the Python side (seed, check, attack).
adversarial() { "$TOOLS_DIR/venv/bin/python" blackbox/adversarial.py "$1" "$endpoint" "$fixture" "$bin" "$data"; }

# --- the world: who may do what ---------------------------------------------------------------
# alice owns both buckets and signs the links that stay alive; bob, carol and dave sign links
# that die with their key, their user and their grant; frank reads one prefix; inspector reads
# every bucket, for the inventories taken before and after the attack.
cli user create alice --can-create-buckets --json >"$fixture/user-alice.json"
for user in bob carol dave frank inspector; do cli user create "$user" --json >"$fixture/user-$user.json"; done
for bucket in team other; do
  quietly bucket create "$bucket" --owner alice
  quietly grant add inspector "$bucket" read
done
quietly grant add bob team read
quietly grant add carol team read-write
quietly grant add dave team read-write
quietly grant add frank team read --prefix public/

BUCKETSHARE_ADMIN_PASSWORD=adversarial-password-1 "$bin" --data-dir "$data" serve \
  --console-addr "127.0.0.1:$console_port" --s3-addr "127.0.0.1:$s3_port" \
  --site-root "$PWD/target/site" >>"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$endpoint/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "server exited at start"
  sleep 0.1
done
curl -fsS "$endpoint/healthz" >/dev/null 2>&1 || fail "server not ready"

adversarial seed >"$work/seed.out" || { cat "$work/seed.out"; fail "seeding the objects"; }

# --- share links: the name says what happens to each (blackbox/adversarial.py reads it) --------
link() { # link NAME s3://B/K --as USER [flags…]
  local name=$1; shift
  cli link create "$@" --label "adversarial $name" --json >"$fixture/link-$name.json" || fail "link create $name"
}
link live-get s3://team/report.txt --as alice
link live-put s3://team/drop/live-put.bin --as alice --method PUT
link live-prefix s3://team/public/doc.txt --as frank
link revoked-get s3://team/report.txt --as alice
link revoked-put s3://team/drop/revoked-put.bin --as alice --method PUT
link bob-get s3://team/report.txt --as bob
link carol-get s3://team/report.txt --as carol
link carol-put s3://team/drop/carol-put.bin --as carol --method PUT
link dave-get s3://team/report.txt --as dave
link expired-get s3://team/report.txt --as alice --expires 2s

# Every genuine URL must work before it is killed, or its refusals later would prove nothing.
out="$work/adversarial.out"
adversarial check | tee "$out" || fail "a genuine URL does not work before the attack"

# --- kill: revoke, disable the key, disable the user, remove the grant -------------------------
id_of() { json_field id <"$fixture/link-$1.json"; }
quietly link revoke "$(id_of revoked-get)"
quietly link revoke "$(id_of revoked-put)"
quietly key disable "$(json_field access_key_id <"$fixture/user-bob.json")" --yes
quietly user disable carol --yes
quietly grant remove dave team --yes

# --- attack ------------------------------------------------------------------------------------
status=0
adversarial attack | tee -a "$out" || status=$?
grep -q '^adversarial: [0-9]* variants' "$out" || status=1
stop
echo "adversarial: $(grep -c '^ok' "$out") passed"
# s3s logs each refusal as an error: those are left out.
[ "$status" = 0 ] || { echo "--- server errors and warnings (at most 20):" >&2;
  awk '/ERROR|WARN/ && !/s3s::ops/ && n++ < 20' "$work/server.log" >&2; }
exit "$status"
