#!/usr/bin/env bash
# Quick start: installs what is missing, builds bucketshare in release mode and runs it with
# its embedded defaults (console on 127.0.0.1:3000, data in ./data). Arguments go to the
# binary, e.g. `scripts/serve.sh serve --console-addr 0.0.0.0:3000` or `scripts/serve.sh --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh

cargo leptos build --release --split
export BUCKETSHARE_SITE_ROOT="${BUCKETSHARE_SITE_ROOT:-$PWD/target/site}"
exec "$CARGO_TARGET_DIR/release/bucketshare" "$@"
