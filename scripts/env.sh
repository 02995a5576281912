# Sourced by the other scripts: where caches and tools live, and the pinned tool versions.
# Everything bulky stays outside the clone, so that fresh clones (CI) reuse earlier builds.

BUCKETSHARE_CACHE="${BUCKETSHARE_CACHE:-$HOME/.cache/bucketshare}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BUCKETSHARE_CACHE/target}"
export XDG_CACHE_HOME="$BUCKETSHARE_CACHE/xdg"
export TMPDIR="$BUCKETSHARE_CACHE/tmp"
TOOLS_DIR="$BUCKETSHARE_CACHE/tools"
mkdir -p "$CARGO_TARGET_DIR" "$XDG_CACHE_HOME" "$TMPDIR" "$TOOLS_DIR"

# Pinned tools. wasm-bindgen must equal the `wasm-bindgen` crate pinned in Cargo.toml.
CARGO_LEPTOS_VERSION=0.3.11
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=123.0.0
AWSCLI_VERSION=1.46.3
BOTO3_VERSION=1.44.8
# PyAV (FFmpeg in its wheel): the black-box run makes a video to preview with it.
AV_VERSION=16.0.1
S3S_FS_VERSION=0.17.0
GARAGE_VERSION=2.5.0
GARAGE_BIN="$TOOLS_DIR/garage/bin/garage"

# npm's binaryen (wasm-opt) ahead of Debian's, which produces WASM that breaks in browsers.
export PATH="$TOOLS_DIR/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export RUSTUP_AUTO_INSTALL=0
