#!/usr/bin/env bash
# One command for a new developer: install what is missing, build the UI and the app, start it.
# With nothing configured the app offers its built-in Open Humans sandbox on the first screen.
# On a headless machine it starts a private session bus (and unlocks gnome-keyring in it with
# $DATALINKS_DEV_KEYRING_PASSWORD, default "datalinks-dev") and/or a virtual display.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
APP=$ROOT/target/debug/datalinks-app

timed() {
  local name=$1 start=$SECONDS
  shift
  echo "=== $name"
  "$@"
  echo "=== $name took $((SECONDS - start)) s"
}

if [ "$(id -u)" = 0 ]; then
  timed setup bash .ci/setup.sh
else
  echo "=== setup skipped (not root): install the packages listed in .ci/setup.sh, then npm ci"
  [ -d node_modules ] || timed npm npm ci --no-audit --no-fund
fi
timed ui-build npm run ui:build
timed app-build cargo build -p datalinks-app --locked --features custom-protocol

has_session_bus() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || [ -S "${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/bus" ]
}

launch=("$APP")
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: running the app on a virtual X server (xvfb-run)"
  launch=(xvfb-run -a -s "-screen 0 1280x800x24" "${launch[@]}")
fi

echo "=== starting $APP"
if has_session_bus; then
  exec "${launch[@]}"
else
  echo "no session bus: starting a private one with gnome-keyring unlocked in it"
  export DATALINKS_DEV_KEYRING_PASSWORD=${DATALINKS_DEV_KEYRING_PASSWORD:-datalinks-dev}
  exec dbus-run-session -- bash -c '
    printf %s "$DATALINKS_DEV_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
      || echo "could not unlock the keyring: the app will report it as unavailable" >&2
    exec "$@"' dev-session "${launch[@]}"
fi
