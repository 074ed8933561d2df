#!/usr/bin/env bash
# Fuzzes the parsers that take input from outside, each for SECONDS (default 60), starting
# from a copy of its committed corpus (tests/fuzz/corpus/<target>), and prints how many inputs
# each target ran. Needs nightly Rust (installed on these machines) and cargo-fuzz, which is
# installed when missing. MERGE=1 folds what a run found into the committed corpus, minimized.
#   bash tests/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
targets=(callback connect_event token_response webhook)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
status=0
for target in "${targets[@]}"; do
  work=$(mktemp -d /tmp/datalinks-fuzz.XXXXXX)
  cp -r "tests/fuzz/corpus/$target/." "$work/"
  log=$work.log
  if cargo +nightly fuzz run --fuzz-dir src-tauri/fuzz "$target" "$work" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    echo "fuzz $target: $runs executions in ${seconds} s, no crash"
  else
    status=1
    echo "fuzz $target: FAILED" >&2
    tail -n 40 "$log" >&2
  fi
  if [ "${MERGE:-}" = 1 ]; then
    cargo +nightly fuzz cmin --fuzz-dir src-tauri/fuzz "$target" "$work" >/dev/null 2>&1 || true
    rm -rf "tests/fuzz/corpus/$target" && mkdir -p "tests/fuzz/corpus/$target"
    cp "$work"/* "tests/fuzz/corpus/$target/"
  fi
  rm -rf "$work" "$log"
done
exit $status
