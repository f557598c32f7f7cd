#!/usr/bin/env bash
# Installs the Debian packages a target needs, only those missing. Usage: install-deps.sh run|test
set -euo pipefail

build_pkgs=(build-essential pkg-config curl wget file libssl-dev libxdo-dev librsvg2-dev
            libwebkit2gtk-4.1-dev libayatana-appindicator3-dev)
# Tests add: the WebDriver for WebKitGTK, a virtual display, a private D-Bus and a real
# Secret Service (gnome-keyring), setpriv (util-linux) to run as an unprivileged user, and
# Python with venv for boto3 in `make test-peers`.
test_pkgs=(webkit2gtk-driver xvfb xauth dbus dbus-x11 gnome-keyring libsecret-tools util-linux procps
           python3 python3-venv)

case "${1:-run}" in
  run) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

# Node runs the UI's unit tests and the Tauri CLI (`make package`). Checked by command, since
# Node often comes from elsewhere than Debian (whose `npm` package would then conflict).
command -v node >/dev/null || wanted+=(nodejs)
command -v npm >/dev/null || wanted+=(npm)

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "Please install as root: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "Rust (cargo) is needed: see https://rustup.rs" >&2; exit 1; }
