#!/usr/bin/env bash
# Quick start: installs what is missing, builds bucketshare in release mode and runs it with
# its embedded defaults (console on 127.0.0.1:3000, data in ./data). Arguments go to the
# binary, e.g. `scripts/serve.sh serve --console-addr 0.0.0.0:3000` or `scripts/serve.sh --help`.
#
# A start with nothing changed takes seconds: the server is built by cargo (which knows when
# nothing changed), and the site (WASM, CSS) only when its inputs changed since this script last
# built it — cargo-leptos would otherwise run wasm-bindgen and wasm-opt on every chunk again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh

site=target/site
stamp="$site/.built-from"
# What the site is built from, and the WASM it was built into (other scripts build debug
# sites into the same folder: then the WASM differs and the site is built again).
inputs() {
  { find app frontend style public -type f 2>/dev/null | sort | xargs sha256sum
    sha256sum Cargo.toml Cargo.lock rust-toolchain.toml .cargo/config.toml 2>/dev/null
  } | sha256sum | cut -d' ' -f1
}
built() { sha256sum "$site/pkg/bucketshare.wasm" 2>/dev/null | cut -d' ' -f1; }
now="$(inputs) $(built)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$now" ]; then
  echo "serve.sh: the site is up to date (its sources did not change since it was built)"
else
  cargo leptos build --release --split --frontend-only
  echo "$(inputs) $(built)" >"$stamp"
fi
cargo build --release -p server
export BUCKETSHARE_SITE_ROOT="${BUCKETSHARE_SITE_ROOT:-$PWD/$site}"
exec "$CARGO_TARGET_DIR/release/bucketshare" "$@"
