#!/usr/bin/env bash
# Builds Garage from crates.io once (about 30 minutes, cached under ~/.cache/bucketshare), then
# runs the S3, link and store tests with bucketshare in front of a single-node Garage.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests --garage
scripts/upstream-tests.sh garage
