#!/usr/bin/env bash
# bucketshare on PostgreSQL (`--database-url`), against a server started here from Debian's
# `postgresql` (a throwaway cluster on 127.0.0.1):
#  1. the in-process Rust suite, each test in a database of its own;
#  2. the browser tests against the built site, the server on PostgreSQL;
#  3. two real instances with their own data dirs sharing that database, the same master key
#     and one upstream store (s3s-fs), as behind a load balancer: a console session opened on
#     one is valid on the other, a link issued on one downloads through the other, and once
#     revoked through one it is refused by the other (the time that takes is printed).
# Prints "postgres: N passed".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

work=$(mktemp -d)
# The cluster's directory must belong to the user PostgreSQL runs as (`postgres` when this runs
# as root, which PostgreSQL refuses to run as), so it lives outside the private cache dir.
pg_dir=$(mktemp -d /tmp/bucketshare-pg.XXXXXX)
pids=()
as_pg=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -f "$pg_dir/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  wait 2>/dev/null || true
  rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fail() {
  echo "FAIL  $*" >&2
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
ok() { echo "ok    $*" >&2; passed=$((passed + 1)); }
passed=0

[ -n "$pg_bin" ] && [ -x "$pg_bin/postgres" ] || fail "PostgreSQL is not installed: scripts/setup.sh --tests installs it"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" --auth=trust -U postgres --encoding=UTF8 \
  --locale=C.UTF-8 >"$work/initdb.log" 2>&1 || fail "initdb"
port=$(free_port)
start_postgres() {
  # A test cluster: durability off for speed (the SQLite runs keep full fsync).
  "${as_pg[@]}" "$pg_bin/postgres" -D "$pg_dir/data" -k "$pg_dir" -h 127.0.0.1 -p "$port" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
    >>"$work/postgres.log" 2>&1 &
  for _ in $(seq 1 100); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" || fail "PostgreSQL did not start"
}
start_postgres
server="postgres://postgres@127.0.0.1:$port"
psql() { "$pg_bin/psql" -X -q -At -h 127.0.0.1 -p "$port" -U postgres "$@"; }
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

# --- 1. the in-process suite -----------------------------------------------------------------
log="$work/test.log"
BUCKETSHARE_TEST_POSTGRES="$server" timeout 900 cargo test -p app -p domain -p server -- \
  --test-threads=1 2>&1 | tee -a "$log" >&2 || fail "the Rust suite on PostgreSQL"
rust=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
# The suite must have run on PostgreSQL, not fallen back to SQLite files.
dbs=$(psql -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'bs\_%'")
[ "$dbs" -gt 10 ] || fail "the suite created $dbs databases on PostgreSQL"
echo "ok    the Rust suite on PostgreSQL: $rust passed, in $dbs databases" >&2
passed=$((passed + rust))

# --- 2. the browser tests, the server on PostgreSQL ------------------------------------------
cargo leptos build --split >&2
psql -d postgres -c "CREATE DATABASE bs_e2e"
e2e=$(BUCKETSHARE_DATABASE_URL="$server/bs_e2e" SCREENSHOT_DIR="$work/screenshots" \
  scripts/e2e.sh "$CARGO_TARGET_DIR/debug/bucketshare" | sed -n 's/^e2e: \([0-9]*\) passed$/\1/p')
[ "$(psql -d bs_e2e -c "SELECT count(*) FROM share_links")" -gt 0 ] || fail "the browser tests left no link in PostgreSQL"
echo "ok    the browser tests with the server on PostgreSQL: $e2e passed" >&2
passed=$((passed + e2e))

# --- 3. two instances sharing the database ---------------------------------------------------
bin="$CARGO_TARGET_DIR/debug/bucketshare"
s3s_port=$(free_port)
store_key=PGTESTSTOREKEY
store_secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
mkdir "$work/upstream"
RUST_LOG=error s3s-fs --host 127.0.0.1 --port "$s3s_port" --access-key "$store_key" \
  --secret-key "$store_secret" "$work/upstream" >"$work/s3s-fs.log" 2>&1 &
pids+=($!)
psql -d postgres -c "CREATE DATABASE bs_shared"
console_a=$(free_port); s3_a=$(free_port); console_b=$(free_port); s3_b=$(free_port)
export BUCKETSHARE_DATABASE_URL="$server/bs_shared"
BUCKETSHARE_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export BUCKETSHARE_MASTER_KEY
export BUCKETSHARE_STORE=s3 BUCKETSHARE_STORE_ENDPOINT="http://127.0.0.1:$s3s_port" \
  BUCKETSHARE_STORE_ACCESS_KEY="$store_key" BUCKETSHARE_STORE_SECRET_KEY="$store_secret" \
  BUCKETSHARE_STORE_PATH_STYLE=true
# Behind a load balancer both sign links for the one public address; here, instance A's.
export BUCKETSHARE_PUBLIC_S3_URL="http://127.0.0.1:$s3_a"
export BUCKETSHARE_ADMIN_PASSWORD=two-instances-password
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$s3s_port/" && break; sleep 0.1; done
# Both start at once on the empty database: they race to migrate it and create the first admin.
"$bin" --data-dir "$work/a" serve --console-addr "127.0.0.1:$console_a" \
  --s3-addr "127.0.0.1:$s3_a" >"$work/a.log" 2>&1 &
pids+=($!)
"$bin" --data-dir "$work/b" serve --console-addr "127.0.0.1:$console_b" \
  --s3-addr "127.0.0.1:$s3_b" >"$work/b.log" 2>&1 &
pids+=($!)
for c in "$console_a" "$console_b"; do
  for _ in $(seq 1 100); do [ "$(curl -s "http://127.0.0.1:$c/readyz")" = ready ] && break; sleep 0.1; done
  [ "$(curl -s "http://127.0.0.1:$c/readyz")" = ready ] || fail "instance on $c not ready"
done
[ -f "$work/b/bucketshare.db" ] && fail "instance B made a SQLite file despite --database-url"
admins=$(psql -d bs_shared -c "SELECT count(*) FROM admins")
[ "$admins" = 1 ] || fail "$admins first admins after a simultaneous start"
ok "two instances (data dirs a and b) started at once on one empty PostgreSQL database (one first admin) and one upstream store"
"$bin" --data-dir "$work/a" user create alice >/dev/null || fail "user create"
"$bin" --data-dir "$work/b" bucket create team --owner alice >/dev/null || fail "bucket create"
"$bin" --data-dir "$work/a" key create alice --json >"$work/alice.json" || fail "key create"

"$TOOLS_DIR/venv/bin/python" - "$work/alice.json" "$console_a" "$s3_a" "$console_b" "$s3_b" \
  >"$work/pair.out" 2>"$work/pair.log" <<'EOF' || fail "two instances: $(tail -n 5 "$work/pair.log")"
import http.cookiejar, json, sys, time, urllib.error, urllib.parse, urllib.request
import boto3

alice = json.load(open(sys.argv[1]))
console_a, s3_a, console_b, s3_b = sys.argv[2:6]

# Alice uploads through instance A.
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_a}", region_name="us-east-1",
                  aws_access_key_id=alice["access_key_id"],
                  aws_secret_access_key=alice["secret_access_key"])
s3.put_object(Bucket="team", Key="plan.txt", Body=b"shared plan\n")

jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

def call(port, name, form=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/{name}",
                                 data=urllib.parse.urlencode(form or {}).encode(),
                                 headers={"Accept": "application/json"})
    with web.open(req) as res:
        return json.load(res)

def login(port):
    csrf = call(port, "session")["csrf"]
    call(port, "login", {"csrf": csrf, "username": "admin",
                         "password": "two-instances-password"})

# The cookie is for 127.0.0.1 (any port): one browser session across both instances.
login(console_a)
session_b = call(console_b, "session")
assert session_b["admin"] == "admin", session_b
print("ok    a console session opened on A is signed in on B (sessions live in the database)",
      file=sys.stderr)

csrf = session_b["csrf"]
link = call(console_b, "links/create", {"csrf": csrf, "bucket": "team", "key": "plan.txt",
                                        "user": "alice", "expires": "1h", "method": "GET",
                                        "label": "pair"})

def fetch_via(port):
    # The load balancer's job: the link's host is A's; send it to `port` as is.
    parts = urllib.parse.urlsplit(link["url"])
    req = urllib.request.Request(f"http://127.0.0.1:{port}{parts.path}?{parts.query}",
                                 headers={"Host": parts.netloc})
    try:
        with urllib.request.urlopen(req) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()

assert fetch_via(s3_a) == (200, b"shared plan\n"), fetch_via(s3_a)
assert fetch_via(s3_b) == (200, b"shared plan\n"), fetch_via(s3_b)
print("ok    a link issued on B downloads through A and through B", file=sys.stderr)

revoked = call(console_a, "links/revoke", {"csrf": csrf, "id": link["id"]})
assert revoked == f"Revoked link {link['id']}.", revoked
start = time.monotonic()
while True:
    status, body = fetch_via(s3_b)
    took = time.monotonic() - start
    if status == 403:
        break
    assert took < 1.0, f"B still served the revoked link after {took:.3f} s"
    time.sleep(0.005)
assert b"AccessDenied" in body, body
print(f"ok    revoked through A, refused by B after {took * 1000:.1f} ms (limit 1 s)",
      file=sys.stderr)
print(3)
EOF
passed=$((passed + $(cat "$work/pair.out")))
cat "$work/pair.log" >&2

# The database goes away, then comes back: readiness says so, and the instances recover
# without a restart.
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null
code=$(curl -s -o "$work/out" -w '%{http_code}' "http://127.0.0.1:$console_a/readyz")
[ "$code" = 503 ] && grep -q database "$work/out" || fail "readyz with the database down: $code $(cat "$work/out")"
ok "/readyz: 503 \"$(cat "$work/out")\" with the database down"
start_postgres
for _ in $(seq 1 50); do
  [ "$(curl -s "http://127.0.0.1:$console_a/readyz")" = ready ] \
    && [ "$(curl -s "http://127.0.0.1:$console_b/readyz")" = ready ] && break
  sleep 0.2
done
for c in "$console_a" "$console_b"; do
  [ "$(curl -s "http://127.0.0.1:$c/readyz")" = ready ] || fail "instance on $c not ready after the database came back"
done
"$bin" --data-dir "$work/a" user list --json | grep -q '"alice"' || fail "user list after the database came back"
ok "both instances ready again once the database is back, without a restart"
echo "postgres: $passed passed"
