#!/usr/bin/env bash
# make bench: builds the bench bundles and prints the figures (see test/bench/bench.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
node packaging/build.mjs >/dev/null
# A bundle of the real issuerName backfill only (and the history's own steps, which every run has), to time the backfill.
make --no-print-directory dist/bench-backfill.js >/dev/null
npx esbuild test/bench/bench.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=dist/bench.js
PKI_BENCH_REPO="$PWD" node dist/bench.js
