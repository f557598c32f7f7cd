#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring: a real
# Secret Service, isolated from the user's own (its files live in a temporary folder).
# Usage: with-keyring.sh COMMAND [ARGS...]
set -euo pipefail
if [ -z "${SITEDROP_IN_KEYRING_SESSION:-}" ]; then
  export SITEDROP_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
keyring_home="$(mktemp -d)"
export XDG_DATA_HOME="$keyring_home/data" XDG_RUNTIME_DIR="$keyring_home/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# In the foreground (so we own its lifetime and it holds none of our pipes), --unlock reads
# the new login keyring's password on stdin and leaves it unlocked.
printf 'sitedrop-test' | gnome-keyring-daemon --foreground --unlock --components=secrets \
  >/dev/null 2>&1 &
keyring_pid=$!
trap 'kill "$keyring_pid" 2>/dev/null || true; wait "$keyring_pid" 2>/dev/null || true; rm -rf "$keyring_home"' EXIT
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    break
  fi
  sleep 0.05
done
"$@"
