#!/usr/bin/env bash
# The package test: builds the .deb with the Tauri bundler (release build: app and CLI), checks
# what it holds, installs it with dpkg, and runs tests/package/*.test.mjs against the installed
# app in the end-to-end setup (private HOME, D-Bus session, keyring, Xvfb): its desktop entry is
# the datalinks:// handler, and a link given to the OS (gio open) reaches the installed app, cold
# and running. The package is removed again however the test ends. Needs root for dpkg.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

start=$SECONDS
npx tauri build --bundles deb --ci
built=$((SECONDS - start))
deb=$(ls -t target/release/bundle/deb/*.deb | head -1)
package=$(dpkg-deb --field "$deb" Package)
contents=$(dpkg-deb --contents "$deb")
for wanted in usr/bin/datalinks-app usr/bin/datalinks; do
  grep -Eq " (\./)?$wanted\$" <<<"$contents" || { echo "package: $deb holds no $wanted" >&2; exit 1; }
done
for binary in datalinks-app datalinks; do
  # The bundler copies the release binaries; the release profile strips them.
  if file "target/release/$binary" | grep -q "not stripped"; then
    echo "package: target/release/$binary is not stripped" >&2; exit 1
  fi
done

remove() { $SUDO dpkg --remove "$package" >/dev/null 2>&1 || true; }
trap remove EXIT
start=$SECONDS
$SUDO dpkg --install "$deb"
command -v update-desktop-database >/dev/null && $SUDO update-desktop-database /usr/share/applications
installed=$((SECONDS - start))

export DATALINKS_PACKAGE_DEB=$deb DATALINKS_PACKAGE_NAME=$package
export DATALINKS_E2E_ARTIFACTS=$ROOT/tests/package/artifacts
start=$SECONDS
DATALINKS_APP=/usr/bin/datalinks-app E2E_SUITE=tests/package/ bash tests/e2e/run.sh
tested=$((SECONDS - start))

remove
trap - EXIT
[ ! -e /usr/bin/datalinks-app ] || { echo "package: dpkg --remove left /usr/bin/datalinks-app" >&2; exit 1; }
printf 'package: %s, %s bytes: built in %d s, installed in %d s, tested in %d s, removed\n' \
  "$(basename "$deb")" "$(stat -c %s "$deb")" "$built" "$installed" "$tested"
for binary in datalinks-app datalinks; do
  printf 'package: %-14s %10s bytes (stripped release)\n' "$binary" "$(stat -c %s "target/release/$binary")"
done
