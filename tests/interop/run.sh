#!/usr/bin/env bash
# Interop with real third-party clients, each against the example server it speaks to:
# WebTrit's own TypeScript client against wtsp_server, the jsonrpcclient Python library
# against callapi_server. Installs what it needs (node, python3-venv) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v node >/dev/null 2>&1; then
    apt-get update && apt-get install -y nodejs npm
fi
venv=target/interop-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { apt-get update && apt-get install -y python3-venv && python3 -m venv "$venv"; }
fi
"$venv/bin/pip" install --quiet -r tests/interop/requirements.txt
(cd tests/interop && npm ci --no-audit --no-fund --silent)
cargo build --quiet --example wtsp_server --example callapi_server

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# Starts an example server on an ephemeral port, logging to $2.
start() {
    "target/debug/examples/$1" 127.0.0.1:0 >"$2" 2>&1 &
    pids+=($!)
}

# The ws:// base URL the server logging to $1 printed once it listened.
url_in() {
    for _ in $(seq 1 100); do
        if grep -q 'ws://[0-9.:]*' "$1"; then
            grep -o 'ws://[0-9.:]*' "$1" | head -n 1
            return
        fi
        sleep 0.1
    done
    cat "$1" >&2
    echo "the server did not start" >&2
    return 1
}

log="$(mktemp -d)"
start wtsp_server "$log/wtsp"
node tests/interop/wtsp_webtrit_client.mjs "$(url_in "$log/wtsp")"

start callapi_server "$log/callapi"
"$venv/bin/python" tests/interop/callapi_jsonrpcclient.py "$(url_in "$log/callapi")"
