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
# Share pages: a page's download against the pre-signed GET, a folder's zip, the landing page.
"$TOOLS_DIR/venv/bin/python" bench/pages.py "$CARGO_TARGET_DIR/release/bucketshare" "$@"
# Upload pages: 256 MiB through a page against boto3's multipart PUT of the same bytes.
"$TOOLS_DIR/venv/bin/python" bench/uploads.py "$CARGO_TARGET_DIR/release/bucketshare"
# The console's WASM, as browsers download it: the main bundle every visit loads, then what each
# page adds (its lazy route's chunks), measured in Chromium on a fresh profile per page.
echo
scripts/wasm-pages.sh
