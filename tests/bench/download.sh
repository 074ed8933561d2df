#!/usr/bin/env bash
# Download benchmark (issue 4): a sandbox project of 100 members x 10 files totalling 1 GiB,
# downloaded in one run by (a) `datalinks oh download`, (b) ohapi's `ohproj-download`,
# (c) `curl --parallel` over the same file URLs as the practical limit. Prints wall time,
# throughput and peak RSS of each, and the ratios. A benchmark that prints figures, not a test.
#   bash tests/bench/download.sh   (env: MEMBERS, FILES_PER_MEMBER, TOTAL_BYTES, CONCURRENCY,
#                                   LATENCY_MS: delay per answer, as across the internet; 0 = loopback;
#                                   OHAPI=0 skips ohapi, for runs of many small files it would take long on;
#                                   MEMBER_LIST=0 skips the 10,000-member listing;
#                                   MD5=1 gives every file an md5, which the download then checks)
# 20,000 small files of 16 KiB: MEMBERS=2000 FILES_PER_MEMBER=10 TOTAL_BYTES=327680000 OHAPI=0
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MEMBERS=${MEMBERS:-100}
FILES_PER_MEMBER=${FILES_PER_MEMBER:-10}
TOTAL_BYTES=${TOTAL_BYTES:-1073741824}
CONCURRENCY=${CONCURRENCY:-8}
LATENCY_MS=${LATENCY_MS:-0}
OHAPI=${OHAPI:-1}
MEMBER_LIST=${MEMBER_LIST:-1}
MD5=${MD5:-0}
MD5_FLAG=--no-md5
[ "$MD5" = 1 ] && MD5_FLAG=
FILE_SIZE=$((TOTAL_BYTES / (MEMBERS * FILES_PER_MEMBER)))

echo "=== building datalinks (release)"
cargo build --release --locked -p datalinks-cli
CLI=$ROOT/target/release/datalinks
VENV=$ROOT/.tools/bench-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import ohapi" 2>/dev/null; then
  echo "=== installing ohapi (open-humans-api from PyPI) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet open-humans-api
fi
command -v curl >/dev/null && [ -x /usr/bin/time ] || { echo "needs curl and GNU time (apt-get install curl time)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/datalinks-bench.XXXXXX)
SANDBOX_LOG=$WORK/sandbox.log
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CLI" sandbox --port "$PORT" --members "$MEMBERS" --files-per-member "$FILES_PER_MEMBER" \
  --file-size "$FILE_SIZE" $MD5_FLAG --latency-ms "$LATENCY_MS" >"$SANDBOX_LOG" 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 600); do grep -q "master token" "$SANDBOX_LOG" && break; sleep 0.1; done
export DATALINKS_OH_BASE_URL=http://127.0.0.1:$PORT
DATALINKS_OH_MASTER_TOKEN=$(awk '/master token/ {print $3}' "$SANDBOX_LOG")
export DATALINKS_OH_MASTER_TOKEN
echo "=== sandbox: $MEMBERS members x $FILES_PER_MEMBER files x $FILE_SIZE bytes, ${LATENCY_MS} ms per answer, at $DATALINKS_OH_BASE_URL"

# Runs a command under GNU time; prints "<wall seconds> <peak RSS KiB>".
measure() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" >"$WORK/$name.log" 2>&1 \
    || { echo "$name failed:" >&2; tail -20 "$WORK/$name.log" >&2; exit 1; }
  cat "$WORK/$name.time"
}
bytes_in() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
files_in() { find "$1" -type f | wc -l; }

# curl's URLs, listed before anything is timed: the first listing also has the sandbox compute
# and cache every seeded file's md5 (a pass over all the bytes), which no client should pay for.
echo "=== listing the file URLs for curl"
"$VENV/bin/python" tests/bench/file_urls.py "$DATALINKS_OH_BASE_URL" "$WORK/c" >"$WORK/curl.cfg"
echo "=== (a) datalinks oh download --concurrency $CONCURRENCY"
read -r a_secs a_rss < <(measure datalinks "$CLI" oh download --dest "$WORK/a" --concurrency "$CONCURRENCY")
b_secs=0 b_rss=0
if [ "$OHAPI" = 1 ]; then
  echo "=== (b) ohapi ohproj-download"
  mkdir -p "$WORK/b" # ohapi expects the target folder to exist
  read -r b_secs b_rss < <(measure ohapi "$VENV/bin/python" tests/bench/ohapi_download.py "$DATALINKS_OH_BASE_URL" "$WORK/b")
fi
echo "=== (c) curl --parallel --parallel-max $CONCURRENCY"
read -r c_secs c_rss < <(measure curl curl --silent --show-error --fail --location --create-dirs \
  --parallel --parallel-max "$CONCURRENCY" --config "$WORK/curl.cfg")

report() {
  local name=$1 secs=$2 rss=$3 dir=$4
  local bytes files
  bytes=$(bytes_in "$dir")
  files=$(files_in "$dir")
  awk -v n="$name" -v s="$secs" -v r="$rss" -v b="$bytes" -v f="$files" \
    'BEGIN {printf "%-22s %6d files %8.1f MiB %8.2f s %8.1f MiB/s  peak RSS %6.1f MB\n", n, f, b/1048576, s, b/1048576/s, r*1024/1e6}'
}
echo
echo "=== results"
report "datalinks oh download" "$a_secs" "$a_rss" "$WORK/a"
[ "$OHAPI" = 1 ] && report "ohapi ohproj-download" "$b_secs" "$b_rss" "$WORK/b"
report "curl --parallel" "$c_secs" "$c_rss" "$WORK/c"
awk -v a="$a_secs" -v b="$b_secs" -v c="$c_secs" -v r="$a_rss" 'BEGIN {
  if (b > 0) printf "datalinks vs ohapi: %.1fx faster (target >= 5x)\n", b/a
  printf "datalinks vs curl:  %.0f%% of curl throughput (target >= 80%%)\n", 100*c/a
  printf "datalinks peak RSS: %.1f MB (target <= 64 MB)\n", r*1024/1e6
}'

[ "$MEMBER_LIST" = 1 ] || exit 0
echo
echo "=== member list of 10,000 members (datalinks oh members --json, whole list)"
kill $SANDBOX 2>/dev/null || true
wait $SANDBOX 2>/dev/null || true
"$CLI" sandbox --port "$PORT" --members 10000 --files-per-member 1 --no-md5 >"$SANDBOX_LOG" 2>&1 &
SANDBOX=$!
for _ in $(seq 200); do grep -q "master token" "$SANDBOX_LOG" && break; sleep 0.1; done
DATALINKS_OH_MASTER_TOKEN=$(awk '/master token/ {print $3}' "$SANDBOX_LOG")
read -r m_secs m_rss < <(measure members "$CLI" oh members --json)
echo "10,000 members listed in $m_secs s, peak RSS $((m_rss / 1024)) MiB ($(grep -o project_member_id "$WORK/members.log" | wc -l) member records)"
