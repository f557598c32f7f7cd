#!/usr/bin/env bash
# The supply-chain check, with cargo-deny and deny.toml (SECURITY.md, "Supply chain").
#   supply-chain.sh              licences, bans and sources of every dependency; offline
#   supply-chain.sh advisories   known vulnerabilities; needs the RustSec advisory database,
#                                which is fetched from GitHub (not reachable from CI here)
# cargo-deny is built from crates.io on first use, then kept. Its own release profile asks for
# fat LTO and one codegen unit, which made the build take 4.6 minutes on 2 cores; a tool that
# runs for a second does not need that, so the install overrides them (1.6 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.20.2
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $version"; then
  echo "Installing cargo-deny $version from crates.io (once)…"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install cargo-deny --locked --version "$version"
fi
case "${1:-offline}" in
  offline)
    # cargo-deny reads the metadata of every target's dependencies (Windows', macOS',
    # Android's…), but a Linux build downloads only Linux's: on a fresh machine the check
    # failed for want of crates like windows-sys. `cargo fetch` with no --target fetches the
    # lock file's crates for every target, while the registry is reachable; the check itself
    # then stays offline.
    echo "Fetching every target's dependencies for the check…"
    cargo fetch --locked --quiet
    exec cargo deny --offline check licenses bans sources ;;
  advisories) exec cargo deny check advisories ;;
  *) echo "usage: $0 [advisories]" >&2; exit 2 ;;
esac
