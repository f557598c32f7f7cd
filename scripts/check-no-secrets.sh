#!/usr/bin/env bash
# Fails when a credential shows up where it must never be: in Sitedrop's data folder (the
# history database and its journal, locks, local sites), in captured stdout/stderr, in logs,
# in text taken from screenshots. Used by the CLI tests (tests/secrets_leak.rs), after the
# whole test run (`make test`), and after the GUI run (`make test-gui`: its output, databases
# and the text of every screenshot).
#
# Usage: check-no-secrets.sh [-s SECRET]... PATH...
#   PATH     files or folders, searched recursively; binary files (SQLite) included
#   -s       a secret string to look for (repeatable); also read from $SITEDROP_SECRETS,
#            one per line
# Always looked for, besides: the emulator's built-in test credentials, and anything shaped
# like a credential (a JWT such as an upload token, a presigned URL's signature, an
# Authorization header's value).
# Prints each file and what was found (secrets shown by their first four characters only),
# and exits 1 if anything was found, 0 if nothing, 2 on bad usage.
set -euo pipefail

secrets=(
  sitedrop_test_token sitedrop_expired_token sitedrop_readonly_token
  sitedrop-test-secret sitedrop-temp-secret sitedrop-session-token
)
paths=()
while [ $# -gt 0 ]; do
  case "$1" in
    -s) [ $# -ge 2 ] || { echo "check-no-secrets: -s needs a value" >&2; exit 2; }
        secrets+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) paths+=("$1"); shift ;;
  esac
done
if [ -n "${SITEDROP_SECRETS:-}" ]; then
  while IFS= read -r line; do [ -n "$line" ] && secrets+=("$line"); done <<< "$SITEDROP_SECRETS"
fi
[ ${#paths[@]} -gt 0 ] || { echo "usage: check-no-secrets.sh [-s SECRET]... PATH..." >&2; exit 2; }
existing=()
for p in "${paths[@]}"; do [ -e "$p" ] && existing+=("$p"); done
[ ${#existing[@]} -gt 0 ] || { echo "check-no-secrets: nothing to scan (${paths[*]})"; exit 0; }

patterns="$(mktemp)"
trap 'rm -f "$patterns"' EXIT
printf '%s\n' "${secrets[@]}" > "$patterns"

found=0
# Exact strings. -a reads binary files as text, so the database is searched too.
while IFS= read -r hit; do
  file="${hit%%:*}"; what="${hit#*:}"
  echo "SECRET in $file: ${what:0:4}…" >&2
  found=1
done < <(grep -r -H -a -o -F -f "$patterns" -- "${existing[@]}" 2>/dev/null | sort -u || true)

# Shapes: JWTs (three base64url parts, the first a JSON header), presigned-URL signatures and
# session tokens, Authorization header values.
shapes='eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+|X-Amz-(Signature|Security-Token)=[^&" <]{8,}|[Aa]uthorization: *(Bearer|AWS4-HMAC-SHA256) [^"<]{8,}'
while IFS= read -r hit; do
  file="${hit%%:*}"; what="${hit#*:}"
  echo "CREDENTIAL-SHAPED text in $file: ${what:0:14}…" >&2
  found=1
done < <(grep -r -H -a -o -E -- "$shapes" "${existing[@]}" 2>/dev/null | sort -u || true)

if [ "$found" = 0 ]; then
  echo "check-no-secrets: no credential found in ${existing[*]}"
fi
exit "$found"
