#!/usr/bin/env bash
# The main job on the bundled sample: ingest samples/ into a fresh store, re-run (nothing to do),
# then answer search queries, answer a question with the local model (cited sources shown) and show the traces.
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
echo "== ask (the packaged local model answers; the sources it cites are listed after the answer)"
quarry ask "What is the daily meal allowance when travelling?" --collection demo
echo "== evaluate the answers on the bundled question set (answers are cached: a re-run is instant)"
quarry eval answers --dataset samples/qa.jsonl --collection demo --out .quarry/demo-answers.html
echo "== traces"
quarry traces --limit 5
