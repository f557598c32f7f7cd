#!/usr/bin/env bash
# Measures the desktop app's cold start to first paint and its idle memory, under Xvfb with a
# private D-Bus and empty data. Usage: scripts/measure-startup.sh [APP_BINARY] (default: the
# release build). Prints the time the page took to paint its first screen (from process start),
# then the resident memory after 5 idle seconds: the app process, and with WebKit's helper
# processes (web content, network) added.
set -euo pipefail
app="${1:-target/release/sitedrop-app}"
[ -x "$app" ] || { echo "no $app: run make package (or cargo build) first" >&2; exit 1; }
if [ -z "${SITEDROP_IN_MEASURE:-}" ]; then
  export SITEDROP_IN_MEASURE=1
  exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" "$@"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME="$tmp/data" SITEDROP_DATA_DIR="$tmp/sitedrop" SITEDROP_TIMING=1
export SITEDROP_LOCAL_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$app" 2>"$tmp/log" &
pid=$!
for _ in $(seq 1 300); do
  grep -q "first paint" "$tmp/log" && break
  sleep 0.05
done
grep -o "first paint after [0-9]* ms" "$tmp/log" || echo "no first paint seen"
sleep 5
# RSS counts shared libraries in every process; PSS shares them out, so PSS sums honestly.
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
descendants() { for c in $(pgrep -P "$1" || true); do echo "$c"; descendants "$c"; done; }
rss=$(kib "$pid" Rss); pss=$(kib "$pid" Pss); names=""
for child in $(descendants "$pid"); do
  rss=$((rss + $(kib "$child" Rss))); pss=$((pss + $(kib "$child" Pss)))
  names="$names $(cat "/proc/$child/comm" 2>/dev/null)"
done
echo "idle memory: app alone RSS $(( $(kib "$pid" Rss) / 1024 )) MiB; app + helpers ($names ) RSS $((rss / 1024)) MiB, PSS $((pss / 1024)) MiB"
kill "$pid"
wait "$pid" 2>/dev/null || true
