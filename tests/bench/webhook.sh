#!/usr/bin/env bash
# Webhook receiver benchmark (issue 12): `datalinks oh webhook serve` against a standalone
# sandbox, sent N signed deliveries one after another on fresh connections (as Open Humans posts
# them) and N unsigned ones; prints the answer time of each kind (median, p99, max) and checks
# that every signed one is in the inbox. A benchmark that prints figures, not a test.
#   bash tests/bench/webhook.sh   (env: N, default 500; PROFILE=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-500}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
  cargo build --release --locked -p datalinks-cli
  CLI=$PWD/target/release/datalinks
else
  cargo build --locked -p datalinks-cli
  CLI=$PWD/target/debug/datalinks
fi
WORK=$(mktemp -d /tmp/datalinks-webhook-bench.XXXXXX)
cleanup() { kill "${SANDBOX_PID:-}" "${SERVE_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$CLI" sandbox --port 0 > "$WORK/sandbox.out" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 100); do grep -q "Press Ctrl-C to stop." "$WORK/sandbox.out" 2>/dev/null && break; sleep 0.1; done
BASE=$(grep -oE 'Open Humans sandbox at \S+' "$WORK/sandbox.out" | awk '{print $5}')
TOKEN=$(grep -oE 'master token: +\S+' "$WORK/sandbox.out" | awk '{print $3}')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATALINKS_DATA_DIR=$WORK/data DATALINKS_OH_BASE_URL=$BASE DATALINKS_OH_MASTER_TOKEN=$TOKEN
export BENCH_SECRET=abcdefghijklmnop
"$CLI" oh webhook serve --secret-env BENCH_SECRET --port "$PORT" > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 100); do grep -q "Receiving" "$WORK/serve.err" 2>/dev/null && break; sleep 0.1; done

python3 - "$PORT" "$N" <<'PY'
import hashlib, hmac, http.client, statistics, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
secret = b"abcdefghijklmnop"

def post(body, signature):
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["X-OpenHumans-Webhooks-Signature"] = signature
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status, (time.perf_counter() - started) * 1000

def report(name, times):
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{name}: {len(times)} answers, median {statistics.median(times):.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms")

signed, unsigned = [], []
for i in range(n):
    body = ('{"project_member_id": "%08d", "erasure_requested": true, "timestamp": "2026-12-04T10:00:00.%06d+00:00"}' % (10000000 + i, i)).encode()
    signature = "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()
    status, ms = post(body, signature)
    assert status == 200, status
    signed.append(ms)
    status, ms = post(body, None)
    assert status == 401, status
    unsigned.append(ms)
report("signed, saved before the answer", signed)
report("unsigned, refused", unsigned)
PY
count=$("$CLI" oh inbox --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "inbox entries: $count of $N"
[ "$count" = "$N" ]
