#!/usr/bin/env bash
# Installs what building and testing bucketshare needs, skipping what is already there:
# the pinned Rust toolchain (rust-toolchain.toml), cargo-leptos, the wasm-bindgen CLI, wasm-opt
# (npm binaryen); with --tests also Chromium, rclone, restic, s3cmd, wget, curl, unzip,
# PostgreSQL, aws cli, boto3, PyAV, the packages ceph/s3-tests needs, the browser-test packages and
# s3s-fs (a real S3 server for the upstream-store tests); with --bench wrk, nginx, s3s-fs, boto3 and the browser tools (the
# WASM per page is measured in Chromium); with --garage a Garage server built from crates.io
# (long: once per machine).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

want_tests=no
want_bench=no
want_garage=no
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=yes ;;
    --bench) want_bench=yes ;;
    --garage) want_garage=yes ;;
    *) echo "setup.sh: unknown option $arg (expected --tests, --bench, --garage)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

if ! command -v rustup >/dev/null; then
  echo "rustup is required to install the toolchain pinned here." >&2
  exit 1
fi
step "Rust toolchain from rust-toolchain.toml"
rustup toolchain install

# Tools are built with the pinned toolchain; without LTO they build in about half the time.
install_crate() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install "$@"
}

if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  step "cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes, once per machine)"
  install_crate cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step "wasm-bindgen CLI $WASM_BINDGEN_VERSION (about 4 minutes, once per machine)"
  install_crate wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! command -v npm >/dev/null; then
  step "Node.js and npm (Debian)"
  apt_install nodejs npm
fi

if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ] \
  || ! grep -q "\"version\": \"$BINARYEN_VERSION\"" "$TOOLS_DIR/node_modules/binaryen/package.json" 2>/dev/null; then
  step "wasm-opt from npm binaryen@$BINARYEN_VERSION"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION"
fi

if [ "$want_tests" = yes ] || [ "$want_bench" = yes ]; then
  if [ ! -x "$TOOLS_DIR/venv/bin/aws" ] || ! "$TOOLS_DIR/venv/bin/python" -c 'import boto3' 2>/dev/null; then
    step "aws cli v1 and boto3 (PyPI) for black-box S3 tests and benchmarks"
    python3 -m venv "$TOOLS_DIR/venv"
    "$TOOLS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION" "boto3==$BOTO3_VERSION"
  fi
fi

if [ "$want_tests" = yes ] && ! "$TOOLS_DIR/venv/bin/python" -c "import av; assert av.__version__ == '$AV_VERSION'" 2>/dev/null; then
  step "PyAV (PyPI) to make the video the share-page tests preview"
  "$TOOLS_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "av==$AV_VERSION"
fi

if [ "$want_tests" = yes ]; then
  # A venv of its own: the suite pins nothing, and aws cli v1 pins its botocore.
  if ! cmp -s conformance/requirements.txt "$TOOLS_DIR/s3tests-venv/requirements.txt"; then
    step "ceph/s3-tests' Python packages (PyPI) for the S3 conformance run"
    python3 -m venv "$TOOLS_DIR/s3tests-venv"
    "$TOOLS_DIR/s3tests-venv/bin/pip" install --quiet --disable-pip-version-check -r conformance/requirements.txt
    cp conformance/requirements.txt "$TOOLS_DIR/s3tests-venv/requirements.txt"
  fi
fi

if [ "$want_tests" = yes ] || [ "$want_bench" = yes ]; then
  if [ "$(s3s-fs --version 2>/dev/null)" != "s3s-fs $S3S_FS_VERSION" ]; then
    step "s3s-fs $S3S_FS_VERSION, a real S3 server for upstream tests and benchmarks (about 6 minutes, once)"
    install_crate s3s-fs --version "$S3S_FS_VERSION" --features binary --locked
  fi
fi

if [ "$want_garage" = yes ] && ! "$GARAGE_BIN" --version 2>/dev/null | grep -q "cargo:$GARAGE_VERSION "; then
  step "Garage $GARAGE_VERSION from crates.io (about 15 minutes, once per machine)"
  # Its own target dir, removed afterwards: Garage's build is large and never reused.
  CARGO_TARGET_DIR="$BUCKETSHARE_CACHE/garage-build" install_crate garage --version "$GARAGE_VERSION" \
    --locked --no-default-features --features bundled-libs,lmdb,sqlite --root "$TOOLS_DIR/garage"
  rm -rf "$BUCKETSHARE_CACHE/garage-build"
fi

if [ "$want_bench" = yes ]; then
  for tool in wrk nginx; do
    if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
      step "$tool (Debian) for benchmarks"
      apt_install "$tool"
    fi
  done
fi

if [ "$want_tests" = yes ] || [ "$want_bench" = yes ]; then
  if ! command -v chromium >/dev/null; then
    step "Chromium (Debian) for browser tests"
    apt_install chromium
  fi
  for tool in rclone restic s3cmd wget curl unzip; do
    if ! command -v "$tool" >/dev/null; then
      step "$tool (Debian) for black-box S3 tests"
      apt_install "$tool"
    fi
  done
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    step "PostgreSQL (Debian) for the --database-url tests (a throwaway cluster; the service stays off)"
    apt_install postgresql
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] \
    || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    step "Browser-test packages (npm ci; no browser download)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund --prefix end2end
  fi
fi
