#!/usr/bin/env bash
# Runs one bench command and keeps what it printed: docs/bench-results/<name>.md gets the date,
# the machine and the server it ran on, and the output as printed. Usage: record.sh NAME CMD...
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1
shift
out="docs/bench-results/$name.md"
mkdir -p "$(dirname "$out")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$@" 2>&1 | tee "$tmp"
slapd=$(command -v ns-slapd || echo /usr/sbin/ns-slapd)
ds=$({ "$slapd" -v 2>&1 || true; } | grep -m1 -o '389-Directory/[^ ]*' || true)
{
  echo "# make $name, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Written by \`make $name\` (test/bench/record.sh); the figures are this run's, as printed."
  echo "Machine: $(nproc) cores, $(uname -sr), node $(node --version), 389 DS ${ds:-unknown}, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo '```'
  cat "$tmp"
  echo '```'
} > "$out"
echo "(kept in $out)"
