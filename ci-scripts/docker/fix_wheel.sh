#!/usr/bin/env bash
# The 2018 entry point, kept so existing CI lines keep working: `fix_wheel.sh <whl>...` now runs
# the native repair (cargo xtask fix-wheel), which only acts when the wheel's ELF files show
# the old auditwheel defect. Paths are taken relative to the caller's folder, as before.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
exec cargo run --quiet --manifest-path "$repo/Cargo.toml" --package xtask -- fix-wheel "$@"
