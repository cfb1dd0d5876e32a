#!/usr/bin/env bash
# Runs third-party registry clients against a freshly started `eventschema serve` on an
# ephemeral port: Confluent's Python client (installed into a virtualenv under target/) and,
# where node is installed, kafkajs' client (installed into tests/clients/kafkajs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../registry-url.sh
source tests/registry-url.sh
target=${CARGO_TARGET_DIR:-$root/target}
venv="$target/client-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/clients/requirements.txt

cargo build --quiet -p eventschema-cli
log=$(mktemp)
"$target/debug/eventschema" serve --listen 127.0.0.1:0 --database-url sqlite::memory: >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
url=$(registry_url "$log" 100)
status=0
echo "-- confluent-kafka (Python)"
"$venv/bin/python" tests/clients/confluent_kafka_client.py "$url" || status=1

echo "-- @kafkajs/confluent-schema-registry (Node)"
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  (cd tests/clients/kafkajs && npm install --no-audit --no-fund --silent)
  node tests/clients/kafkajs/client.mjs "$url" || status=1
else
  echo "node/npm not installed: skipping the kafkajs client"
fi
exit $status
