#!/usr/bin/env bash
# What a fresh browser downloads of the console's WASM for each page (main bundle included),
# from the release site already built (`cargo leptos build --release --split`): starts the
# release binary (or $BUCKETSHARE_BIN) on a throwaway data dir, measures in Chromium
# (bench/wasm-pages.mjs), stops it.
# Usage: scripts/wasm-pages.sh [--budget KIB]   With a budget, exits 1 if a page needs more.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
budget=""
case "${1:-}" in
  --budget) budget="$2" ;;
  "") ;;
  *) echo "wasm-pages.sh: unknown option $1 (expected --budget KIB)" >&2; exit 2 ;;
esac

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BUCKETSHARE_ADMIN_PASSWORD="wasm-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
bin="${BUCKETSHARE_BIN:-$CARGO_TARGET_DIR/release/bucketshare}"
"$bin" --data-dir "$work" bucket create team >/dev/null
"$bin" --data-dir "$work" serve --console-addr "127.0.0.1:$port" --s3-addr 127.0.0.1:0 \
  --site-root "$PWD/target/site" >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
wasm=target/site/pkg/bucketshare.wasm
printf 'Release WASM, main bundle: %s bytes, %s bytes gzipped (-9)\n' "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"
node bench/wasm-pages.mjs "http://127.0.0.1:$port" "$BUCKETSHARE_ADMIN_PASSWORD" $budget
