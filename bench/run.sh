#!/usr/bin/env bash
# Runs the Rust benchmarks (criterion) and prints medians with ratios to the
# hand-written lower bound. Usage: bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")"
# Stale rows of earlier runs (renamed or removed benchmarks) would be reported.
rm -rf target/criterion
cargo bench --bench peers -- --noplot "$@" >/dev/null
python3 report.py target/criterion
