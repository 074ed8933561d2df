#!/usr/bin/env bash
# Runs the end-to-end suite against the built app (target/debug/datalinks-app, or $DATALINKS_APP):
# a throwaway HOME/XDG_* tree, a private D-Bus session with an unlocked gnome-keyring, Xvfb,
# WebKitWebDriver, and tests/e2e/fake-browser.py as the system browser.
#   tests/e2e/run.sh [extra node --test arguments, e.g. --test-name-pattern=keyring]
# E2E_SUITE=<dir> runs the *.test.mjs files of another folder in the same setup (the UI benchmark).
# Artifacts (app logs, driver log, fake-browser trace, failure screenshots) go to tests/e2e/artifacts/.
# E2E_KEEP_TMP=1 keeps the temporary tree for inspection.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
stage=${1:-}

outside() {
  export DATALINKS_APP=${DATALINKS_APP:-$ROOT/target/debug/datalinks-app}
  if [ ! -x "$DATALINKS_APP" ]; then
    echo "e2e: no app binary at $DATALINKS_APP — build it first:" >&2
    echo "  npm run ui:build && cargo build -p datalinks-app --locked --features custom-protocol" >&2
    exit 2
  fi
  for tool in /usr/bin/python3 dbus-run-session gnome-keyring-daemon secret-tool Xvfb WebKitWebDriver gio xdg-mime xclip xdotool node; do
    command -v "$tool" >/dev/null || { echo "e2e: $tool is missing; run .ci/setup.sh" >&2; exit 2; }
  done
  case "$ROOT" in *[[:space:]]*)
    echo "e2e: the repository path must not contain spaces (it goes into a desktop entry Exec line)" >&2; exit 2;;
  esac

  export DATALINKS_E2E_ARTIFACTS=${DATALINKS_E2E_ARTIFACTS:-$E2E_DIR/artifacts}
  rm -rf "$DATALINKS_E2E_ARTIFACTS"
  mkdir -p "$DATALINKS_E2E_ARTIFACTS"

  local tmp
  tmp=$(mktemp -d /tmp/datalinks-e2e.XXXXXX)
  export DATALINKS_E2E_TMP=$tmp
  # The built-in sandbox's admin endpoints need a key: this run names it, for 05's checks.
  DATALINKS_SANDBOX_ADMIN_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  export DATALINKS_SANDBOX_ADMIN_KEY
  export HOME=$tmp/home XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config \
    XDG_CACHE_HOME=$tmp/cache XDG_STATE_HOME=$tmp/state XDG_RUNTIME_DIR=$tmp/runtime
  mkdir -p "$HOME" "$XDG_DATA_HOME/applications" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"
  chmod 700 "$XDG_RUNTIME_DIR"
  # No desktop environment, no outer session bus or display: everything below is private to this run.
  unset XDG_CURRENT_DESKTOP DESKTOP_SESSION GNOME_DESKTOP_SESSION_ID KDE_FULL_SESSION \
    DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY
  install_fake_browser

  local status=0
  dbus-run-session -- bash "$E2E_DIR/run.sh" --in-session "$@" || status=$?

  collect_artifacts
  if [ "${E2E_KEEP_TMP:-}" = 1 ]; then echo "e2e: temporary tree kept at $tmp"; else rm -rf "$tmp"; fi
  echo "e2e: artifacts in $DATALINKS_E2E_ARTIFACTS"
  exit "$status"
}

# The app opens authorize URLs with the `open` crate, which tries xdg-open first and gio second.
# Without a desktop environment xdg-open (xdg-utils 1.1.3) takes its generic path: with a display
# it asks `xdg-mime query default x-scheme-handler/http` (our mimeapps.list wins) and runs that
# desktop entry; only then does it fall back to $BROWSER. gio reads the same mimeapps.list.
# The desktop entry is therefore the main route and $BROWSER a fallback; --via tells them apart
# in fake-browser.log.
install_fake_browser() {
  local entry=datalinks-e2e-browser.desktop
  cat >"$XDG_DATA_HOME/applications/$entry" <<EOF
[Desktop Entry]
Type=Application
Name=Datalinks e2e fake browser
Exec=/usr/bin/python3 $E2E_DIR/fake-browser.py --via=desktop-entry %u
MimeType=x-scheme-handler/http;x-scheme-handler/https;
NoDisplay=true
EOF
  xdg-mime default "$entry" x-scheme-handler/http x-scheme-handler/https
  export BROWSER="/usr/bin/python3 $E2E_DIR/fake-browser.py --via=BROWSER %s"
  export FAKE_BROWSER_CONTROL=$DATALINKS_E2E_TMP/fake-browser-mode
  echo allow >"$FAKE_BROWSER_CONTROL"
  local resolved
  resolved=$(xdg-mime query default x-scheme-handler/http)
  [ "$resolved" = "$entry" ] || { echo "e2e: http handler resolves to '$resolved', not $entry" >&2; exit 2; }
}

in_session() {
  # D-Bus auto-activation would start gnome-keyring locked: unlock (creating the login keyring)
  # non-interactively, then prove that a secret can be stored and read back.
  echo -n e2e-keyring-pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  echo -n probe | secret-tool store --label="datalinks e2e probe" datalinks-e2e probe
  [ "$(secret-tool lookup datalinks-e2e probe)" = probe ] || { echo "e2e: keyring is not usable" >&2; exit 2; }
  secret-tool clear datalinks-e2e probe
  with_display "$@"
}

# Our own Xvfb rather than xvfb-run: -displayfd picks a free display, and the trap always stops
# it (xvfb-run exits before killing Xvfb when its temp-dir cleanup fails).
with_display() {
  local display_file=$DATALINKS_E2E_TMP/xvfb-display xvfb
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$display_file" \
    >"$DATALINKS_E2E_ARTIFACTS/xvfb.log" 2>&1 &
  xvfb=$!
  trap "kill $xvfb 2>/dev/null || true" EXIT
  for _ in $(seq 100); do
    [ -s "$display_file" ] && break
    sleep 0.1
  done
  [ -s "$display_file" ] || { echo "e2e: Xvfb did not start (see xvfb.log)" >&2; return 2; }
  export DISPLAY=:$(tr -d '[:space:]' <"$display_file")
  run_tests "$@"
}

run_tests() {
  local port
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export E2E_DRIVER_PORT=$port
  # Talk to WebKitWebDriver directly (tauri-driver would only proxy to it). The variable is what
  # tauri-driver would set; without it session creation hangs. The app inherits this environment.
  TAURI_WEBVIEW_AUTOMATION=true WebKitWebDriver --host=127.0.0.1 --port="$port" \
    >"$DATALINKS_E2E_ARTIFACTS/webkitwebdriver.log" 2>&1 &
  local driver=$!
  for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  local status=0
  (cd "$ROOT" && node --test --test-concurrency=1 "$@" "${E2E_SUITE:-tests/e2e/}") || status=$?
  kill "$driver" 2>/dev/null || true
  wait "$driver" 2>/dev/null || true
  return "$status"
}

collect_artifacts() {
  local app_data=$XDG_DATA_HOME/org.datalinks.app
  if [ -d "$app_data/logs" ]; then cp -r "$app_data/logs" "$DATALINKS_E2E_ARTIFACTS/app-logs"; fi
  # Where everything landed, for when the log directory moved.
  (cd "$DATALINKS_E2E_TMP" && find . -path ./cache -prune -o -type f -printf '%p %s\n') \
    >"$DATALINKS_E2E_ARTIFACTS/tmp-tree.txt" 2>/dev/null || true
  cp "$XDG_CONFIG_HOME/mimeapps.list" "$DATALINKS_E2E_ARTIFACTS/" 2>/dev/null || true
  cp "$XDG_DATA_HOME"/applications/*.desktop "$DATALINKS_E2E_ARTIFACTS/" 2>/dev/null || true
}

case "$stage" in
  --in-session) shift; in_session "$@" ;;
  *) outside "$@" ;;
esac
