#!/usr/bin/env bash
# The main job on the bundled sample: ingest samples/ into a fresh store, re-run (nothing to do),
# then answer search queries and show the trace of the ingest.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_STORE__PATH="${QUARRY_STORE__PATH:-$PWD/.quarry/demo.db}"

echo "== ingest samples/ into collection 'demo'"
quarry ingest samples --collection demo
echo "== ingest again: everything is unchanged, nothing is embedded or written"
quarry ingest samples --collection demo
echo "== search"
quarry search "how many days of annual leave do I get" --collection demo -k 3
quarry search "payload of the robot arm" --collection demo -k 3 --mode bm25
echo "== traces"
quarry traces --limit 5
