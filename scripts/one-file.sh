#!/usr/bin/env bash
# One file to deploy: a binary built with the `embedded-site` feature (scripts/release.sh, or
# `cargo build -p server --features embedded-site` after building the site) is copied alone
# into an empty directory, started there without --site-root, and its console must hydrate in
# Chromium (blackbox/one-file.mjs). Usage: scripts/one-file.sh PATH/TO/bucketshare
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
cp "$1" "$work/bucketshare"
mkdir "$work/empty"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password="one-file-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(cd "$work/empty" && BUCKETSHARE_ADMIN_PASSWORD="$password" exec ../bucketshare --data-dir "$work/data" serve \
  --console-addr "127.0.0.1:$port" --s3-addr 127.0.0.1:0 >"$work/log" 2>&1) &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
if grep -q "will not work in browsers" "$work/log"; then
  echo "FAIL  the binary has no site built in: $(grep 'will not work' "$work/log")" >&2
  exit 1
fi
[ -z "$(ls -A "$work/empty")" ] || { echo "FAIL  serve wrote into its working directory: $(ls -A "$work/empty")" >&2; exit 1; }
node blackbox/one-file.mjs "http://127.0.0.1:$port" "$password"
echo "one-file: 1 passed"
