#!/bin/bash
# Parse benchmark: Conduit vs dicom-parser 1.8.21 vs dcmjs 0.51.1 (see bench/parse.mjs and
# docs/benchmarks.md). Builds Conduit, generates the corpus if it is missing, then runs
# bench/parse.mjs (which npm-installs the two peers into $NODE_DIR if they are missing).
# Environment: RUNS (5), CORPUS (/tmp/corpus), NODE_DIR (/tmp/conduit-bench-node),
# WORK (/tmp/conduit-bench-work), CELLS, LIBS, PASSES, PASS_SECONDS: see bench/parse.mjs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
CORPUS="${CORPUS:-/tmp/corpus}"
(cd "$ROOT" && npx tsc -p .) || echo "warning: tsc reported errors; benchmarking the dist it emitted anyway" >&2
if [ ! -f "$CORPUS/large/MF0_400frames.dcm" ] || [ "$(find "$CORPUS/ct" -name '*.dcm' 2>/dev/null | wc -l)" -lt 2000 ]; then
  avail=$(df -Pk "$(dirname "$CORPUS")" | awk 'NR==2 {print $4}')
  if [ "$avail" -lt $((3 * 1024 * 1024)) ]; then echo "less than 3 GiB free for the corpus (~1.4 GB) in $(dirname "$CORPUS")" >&2; exit 1; fi
  /usr/bin/python3 "$HERE/gen-corpus.py" "$CORPUS"
fi
exec node "$HERE/parse.mjs"
