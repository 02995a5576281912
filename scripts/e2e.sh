#!/usr/bin/env bash
# Starts a built bucketshare on a free loopback port with a fresh data dir, waits until it is
# ready, runs the Playwright tests in end2end/ against it, and stops it.
# Usage: scripts/e2e.sh PATH/TO/bucketshare [playwright args…]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bin="$1"; shift

data=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
s3_port=$(free_port)
export BUCKETSHARE_ADMIN_PASSWORD="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$bin" --data-dir "$data" --public-s3-url "http://127.0.0.1:$s3_port" serve \
  --console-addr "127.0.0.1:$port" --s3-addr "127.0.0.1:$s3_port" \
  --site-root "$PWD/target/site" >"$data/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "bucketshare exited before it was ready:" >&2
    cat "$data/server.log" >&2
    exit 1
  fi
  sleep 0.1
done

export BASE_URL="http://127.0.0.1:$port"
# The aws cli that the key hand-over test runs with the snippets the console shows.
export AWS_BIN="$TOOLS_DIR/venv/bin/aws"
export S3_URL="http://127.0.0.1:$s3_port"
# Screenshots of every page, for reviewers (git-ignored).
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-$PWD/end2end/screenshots}"
mkdir -p "$SCREENSHOT_DIR"
export PLAYWRIGHT_JSON="$data/results.json"
status=0
(cd end2end && npx playwright test "$@") >&2 || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser tests failed; the server's log ends with:" >&2
  tail -n 50 "$data/server.log" >&2
  exit "$status"
fi
passed=$(node -e 'console.log(require(process.argv[1]).stats.expected)' "$PLAYWRIGHT_JSON")
# A graceful stop must work too.
kill -TERM "$pid"
wait "$pid" || { echo "bucketshare did not stop cleanly on SIGTERM" >&2; exit 1; }
grep -q "bucketshare stopped" "$data/server.log" || { echo "no clean-stop log line" >&2; exit 1; }
echo "e2e: $passed passed"
