#!/usr/bin/env bash
# Fuzzes every RPC's request decoding and validation with libFuzzer for a bounded time:
#   scripts/fuzz.sh [SECONDS]      (default 60)
# Builds the `storefront-fuzz` target with --sanitize=fuzzer in its own build folder
# (.build-fuzz), starts from the seeds in Tests/StorefrontFuzzingTests/Seeds, and fails on the
# first input that crashes the server or gets an answer other than OK or a definite status
# (INTERNAL, UNKNOWN). Such an input is copied to Tests/StorefrontFuzzingTests/Regressions,
# which the Swift tests replay on every run: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
swift build --product storefront-fuzz --sanitize=fuzzer --scratch-path .build-fuzz 2>&1 |
  grep -Ev "^\[[0-9]+/[0-9]+\] (Compiling|Write|Emitting)" || true
binary=$(swift build --product storefront-fuzz --sanitize=fuzzer --scratch-path .build-fuzz \
  --show-bin-path)/storefront-fuzz
[[ -x "$binary" ]] || { echo "error: the fuzz target did not build" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
regressions=Tests/StorefrontFuzzingTests/Regressions

status=0
TMPDIR="$work" "$binary" "$work/corpus" Tests/StorefrontFuzzingTests/Seeds \
  -max_total_time="$seconds" -max_len=4096 -timeout=20 -rss_limit_mb=4096 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 2>&1 |
  grep -Ev "^#[0-9]+\s+(NEW|REDUCE|pulse)|# Uses: |recommended dictionary" || status=${PIPESTATUS[0]}

found=("$work"/artifacts/*)
if [[ -e "${found[0]}" ]]; then
  for file in "${found[@]}"; do
    cp "$file" "$regressions/$(basename "$file").bin"
    echo "kept $regressions/$(basename "$file").bin"
  done
  echo "error: the fuzzer found inputs the server does not answer clearly (above)" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "error: the fuzzer exited with $status" >&2
  exit "$status"
fi
echo "fuzzing: ${seconds} s, no failing input"
