#!/usr/bin/env bash
# Benchmarks (not tests): bucketshare side by side with nginx, s3s-fs and Garage on this machine,
# in one run. Installs wrk, nginx, s3s-fs, Garage and boto3 if missing, builds bucketshare in
# release mode, then runs bench/bench.py. Results: bench/results/<time>.{json,md}.
# Usage: scripts/bench.sh [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench --garage
. scripts/env.sh

# The same release build as scripts/serve.sh (cargo-leptos), so the two share the cache.
cargo leptos build --release --split
GARAGE_BIN="$GARAGE_BIN" "$TOOLS_DIR/venv/bin/python" bench/bench.py "$CARGO_TARGET_DIR/release/bucketshare" "$@"
"$TOOLS_DIR/venv/bin/python" bench/console.py "$CARGO_TARGET_DIR/release/bucketshare"
# The console's WASM, as browsers download it: the main bundle every visit loads, then what each
# page adds (its lazy route's chunks), measured in Chromium on a fresh profile per page.
wasm=target/site/pkg/bucketshare.wasm
printf '\nRelease WASM, main bundle: %s bytes, %s bytes gzipped (-9)\n' "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BUCKETSHARE_ADMIN_PASSWORD="bench-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
bin="$CARGO_TARGET_DIR/release/bucketshare"
"$bin" --data-dir "$work" bucket create team >/dev/null
"$bin" --data-dir "$work" serve --console-addr "127.0.0.1:$port" --s3-addr 127.0.0.1:0 \
  --site-root "$PWD/target/site" >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "Release WASM per page (main bundle included):"
node bench/wasm-pages.mjs "http://127.0.0.1:$port" "$BUCKETSHARE_ADMIN_PASSWORD"
