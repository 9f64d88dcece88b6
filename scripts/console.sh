#!/usr/bin/env bash
# The web console on the bundled sample: ingest samples/ (a no-op when unchanged), make an admin key, serve.
# Open http://127.0.0.1:${PORT:-8000}/ and sign in with the key printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_STORE__PATH="${QUARRY_STORE__PATH:-$PWD/.quarry/demo.db}"
quarry ingest samples --collection demo
token=$(quarry keys create --scope admin --note "console demo" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
echo
echo "Console: http://127.0.0.1:${PORT:-8000}/   API key (shown once): $token"
echo
exec quarry serve --port "${PORT:-8000}"
