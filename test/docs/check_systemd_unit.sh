#!/usr/bin/env bash
# dist/systemd/mmrun@.service parses: systemd-analyze reports no unknown or
# invalid setting and finds every command it runs (mmrun from the build).
# What only a booted system has (the default targets) is not asked for.
#   check_systemd_unit.sh ROOT BIN_DIR
set -u
root=$1 bin=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIPPED: systemd-analyze is not installed"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/mmrun|$bin/mmrun|" "$root/dist/systemd/mmrun@.service" > "$tmp/mmrun@web.service"
out=$(systemd-analyze verify --man=no "$tmp/mmrun@web.service" 2>&1)
bad=$(printf '%s\n' "$out" | grep -Ei 'unknown|invalid|failed to parse|not executable|ignoring|bad' || true)
printf '%s\n' "$out"
if [ -n "$bad" ]; then
  echo "FAIL: the unit has problems:"
  printf '%s\n' "$bad"
  exit 1
fi
grep -q '^ExecReload=.*-HUP' "$tmp/mmrun@web.service" || { echo "FAIL: reload is not SIGHUP"; exit 1; }
echo "ok   mmrun@.service parses; reload sends SIGHUP"
