#!/usr/bin/env bash
# ceph/s3-tests, the S3 conformance suite, against the built binary: a fresh data dir, three
# users (the suite's main, alt and tenant roles) who may create buckets, the suite's functional
# tests for what bucketshare offers. What is left out, and why, is conformance/excluded.txt;
# conformance/s3tests_selection.py applies it (and fails when it names a test the suite no longer has).
# Usage: scripts/s3-tests.sh PATH/TO/bucketshare [pytest args…]
# S3_TESTS_DIR points at another copy of the suite (default: ../shared/vendor/s3-tests).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bin="$1"; shift
suite="${S3_TESTS_DIR:-$PWD/../shared/vendor/s3-tests}"
if [ ! -d "$suite/s3tests/functional" ]; then
  echo "s3-tests: no copy of ceph/s3-tests at $suite (set S3_TESTS_DIR): skipped"
  echo "s3-tests: 0 passed"
  exit 0
fi
echo "s3-tests: the suite at $suite"
work=$(mktemp -d)
data="$work/data"
pid=""
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$pid" ] && wait "$pid" 2>/dev/null; pid=""; return 0; }
trap 'stop; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
console_port=$(free_port); s3_port=$(free_port)
endpoint="http://127.0.0.1:$s3_port"

section() { # section NAME USER: the suite's config section for one bucketshare user
  local json
  json=$("$bin" --data-dir "$data" user create "$2" --can-create-buckets --json)
  cat <<CONF
[$1]
display_name = $2
user_id = $2
email = $2@example.com
access_key = $(echo "$json" | json_field access_key_id)
secret_key = $(echo "$json" | json_field secret_access_key)
CONF
}
{
  cat <<CONF
[DEFAULT]
host = 127.0.0.1
port = $s3_port
is_secure = False
ssl_verify = False

[fixtures]
bucket prefix = s3t-{random}-

CONF
  section "s3 main" main
  echo
  section "s3 alt" alt
  echo
  section "s3 tenant" tenant
  echo "tenant = testx"
  # The suite reads these sections at start; bucketshare has no IAM API, and the tests that
  # use them are left out.
  for iam in "iam" "iam root" "iam alt root"; do
    printf '\n[%s]\naccess_key = unused\nsecret_key = unused\nuser_id = unused\nemail = unused@example.com\ndisplay_name = unused\n' "$iam"
  done
} >"$work/s3tests.conf"

"$bin" --data-dir "$data" serve --console-addr "127.0.0.1:$console_port" --s3-addr "127.0.0.1:$s3_port" \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$endpoint/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

# pytest PASS…: the suite's functional tests with the selection plugin, from the suite's dir.
suite_run() {
  (cd "$suite" && S3TEST_CONF="$work/s3tests.conf" PYTHONPATH="$OLDPWD/conformance" \
    "$TOOLS_DIR/s3tests-venv/bin/python" -m pytest -p s3tests_selection -p no:cacheprovider \
    --excluded "$OLDPWD/conformance/excluded.txt" -q -rfE "$@" s3tests/functional)
}
count() { local n; n=$(grep -Eo "[0-9]+ $1" "$2" | tail -1 | awk '{print $1}'); echo "${n:-0}"; }
# The bulk in parallel (the tests wait on the network more than on the CPU), then the tests
# that need the endpoint to themselves.
status=0
suite_run -n "${S3_TESTS_WORKERS:-4}" "$@" >"$work/parallel.log" 2>&1 || status=$?
cat "$work/parallel.log"
if [ "$status" = 0 ] && [ "$#" = 0 ]; then
  suite_run --alone >"$work/alone.log" 2>&1 || status=$?
  cat "$work/alone.log"
else
  : >"$work/alone.log"
fi
if [ "$status" != 0 ]; then
  echo "--- server log (last 40 lines):" >&2; tail -n 40 "$work/server.log" >&2
  exit "$status"
fi
passed=$(( $(count passed "$work/parallel.log") + $(count passed "$work/alone.log") ))
xfailed=$(( $(count xfailed "$work/parallel.log") + $(count xfailed "$work/alone.log") ))
echo "s3-tests: $passed passed, $xfailed expected failures (conformance/excluded.txt)"
echo "s3-tests: $passed passed"
