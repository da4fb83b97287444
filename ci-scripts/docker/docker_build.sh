#!/usr/bin/env bash
# The 2018 entry point, kept so existing CI lines keep working: it now runs the Rust pipeline
# (cargo xtask wheels). DOCKER_IMAGE and PY_VERSION are honoured as before: the xtask reads
# them when its --image / --python flags are absent. Arguments are passed on.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
exec cargo run --quiet --manifest-path "$repo/Cargo.toml" --package xtask -- wheels "$@"
