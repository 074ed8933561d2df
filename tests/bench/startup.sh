#!/usr/bin/env bash
# Start-up, idle memory and idle wake-ups of the app beside a bare WebKitGTK window, in the
# end-to-end setup (Xvfb, private D-Bus session and keyring, WebKitWebDriver). Prints figures;
# not a timed test.
#   bash tests/bench/startup.sh   (env: PROFILE=release|debug, BENCH_RUNS=5)
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE=${PROFILE:-release}
npm run --silent ui:build >/dev/null
if [ "$PROFILE" = release ]; then
  cargo build --release --locked -p datalinks-app --features custom-protocol
else
  cargo build --locked -p datalinks-app --features custom-protocol
fi
export DATALINKS_APP=$PWD/target/$PROFILE/datalinks-app
echo "=== app: $DATALINKS_APP ($(stat -c %s "$DATALINKS_APP") bytes)"
DATALINKS_E2E_ARTIFACTS=$PWD/tests/bench/startup/artifacts E2E_SUITE=tests/bench/startup/ bash tests/e2e/run.sh
