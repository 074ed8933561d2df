#!/usr/bin/env bash
# Installs everything Datalinks needs to build, test and run on a fresh Debian 12 machine (as root).
# Idempotent: re-running only re-checks. Expects rustup/cargo and Node.js 20+ to be present already.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

step() {
  local name=$1 start=$SECONDS
  shift
  echo "=== setup: $name"
  "$@"
  echo "=== setup: $name took $((SECONDS - start)) s"
}

# Tauri's Linux build prerequisites, then what the tests need at run time: Xvfb, the WebKitGTK
# WebDriver, a session bus, gnome-keyring + secret-tool, xdg-utils (deep-link registration), gio
# (`gio open` delivers datalinks:// links), sqlite3, python3 (the e2e fake browser), xclip (reads
# the clipboard after "Copy link") and xdotool (types into the native save dialog).
APT_PACKAGES=(
  build-essential pkg-config file libssl-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver dbus dbus-x11 at-spi2-core
  gnome-keyring libsecret-tools keyutils xdg-utils desktop-file-utils libglib2.0-bin
  sqlite3 python3 imagemagick xclip xdotool
)

apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "all ${#APT_PACKAGES[@]} apt packages already installed"
    return
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

toolchain() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; return 1; }
  command -v node >/dev/null || { echo "node not found: install Node.js 20+ first" >&2; return 1; }
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  echo "$(cargo --version); node $(node --version); npm $(npm --version)"
}

# The fuzz targets (tests/fuzz/run.sh) build with cargo-fuzz on the nightly toolchain that these
# machines have.
fuzz_tools() {
  rustup run nightly rustc --version >/dev/null 2>&1 || { echo "nightly Rust not found: rustup toolchain install nightly" >&2; return 1; }
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
  cargo fuzz --version
}

js_packages() {
  local stamp=node_modules/.datalinks-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "node_modules already installed from this package-lock.json"
    return
  fi
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
}

total=$SECONDS
step apt apt_packages
step toolchain toolchain
step fuzz-tools fuzz_tools
step npm js_packages
# No tauri-driver: on Linux it only proxies to WebKitWebDriver and sets TAURI_WEBVIEW_AUTOMATION=true.
# tests/e2e/run.sh starts WebKitWebDriver itself with that variable (docs/platform.md, "WebDriver").
echo "=== setup: total $((SECONDS - total)) s"
