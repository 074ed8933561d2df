#!/usr/bin/env bash
# Member-list benchmark (issue 4): time from "Open project" to the first rendered page of a
# 10,000-member project in the real app (WebKitGTK under Xvfb, driven over WebDriver), then
# a full re-list, a search and a sort, and the peak memory of the app and its web process.
# Prints figures; not a timed test.
#   bash tests/bench/members-ui.sh   (env: MEMBERS=10000, FILES_PER_MEMBER=2,
#                                     PROFILE=debug|release: which app build to measure)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MEMBERS=${MEMBERS:-10000}
FILES_PER_MEMBER=${FILES_PER_MEMBER:-2}
PROFILE=${PROFILE:-debug}

echo "=== building the app ($PROFILE) and the CLI"
npm run --silent ui:build >/dev/null
if [ "$PROFILE" = release ]; then
  cargo build --release --locked -p datalinks-app --features custom-protocol
  cargo build --release --locked -p datalinks-cli
else
  cargo build --locked -p datalinks-app --features custom-protocol
  cargo build --locked -p datalinks-cli
fi
export DATALINKS_APP=$ROOT/target/$PROFILE/datalinks-app
CLI=$ROOT/target/$PROFILE/datalinks

WORK=$(mktemp -d /tmp/datalinks-bench-ui.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# One more: the seeded alice joins only when she consents.
"$CLI" sandbox --port "$PORT" --members $((MEMBERS + 1)) --files-per-member "$FILES_PER_MEMBER" \
  --file-size 1000 >"$WORK/sandbox.log" 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 300); do grep -q "master token" "$WORK/sandbox.log" && break; sleep 0.1; done
export BENCH_SANDBOX_URL=http://127.0.0.1:$PORT
BENCH_CLIENT_ID=$(awk '/client id:/ {print $3}' "$WORK/sandbox.log")
BENCH_CLIENT_SECRET=$(awk '/client secret:/ {print $3}' "$WORK/sandbox.log")
BENCH_MASTER_TOKEN=$(awk '/master token:/ {print $3}' "$WORK/sandbox.log")
export BENCH_CLIENT_ID BENCH_CLIENT_SECRET BENCH_MASTER_TOKEN BENCH_MEMBERS=$MEMBERS
echo "=== sandbox: $MEMBERS members x $FILES_PER_MEMBER files at $BENCH_SANDBOX_URL; app: $DATALINKS_APP"

E2E_SUITE=tests/bench/ui/ bash tests/e2e/run.sh
