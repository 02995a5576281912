#!/usr/bin/env bash
# Builds the file to deploy: the release site (WASM, JS, CSS), then the release server with the
# site built into it (`embedded-site`). `bucketshare serve` then needs no site directory and runs
# from anywhere. Prints the binary's path. Long on a fresh machine (the release build of every
# dependency: about half an hour on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
cargo leptos build --release --split --frontend-only
cargo build --release -p server --bin bucketshare --features embedded-site
echo "$CARGO_TARGET_DIR/release/bucketshare"
