#!/usr/bin/env bash
# The README's two commands the way a new user runs them: `git clone` into an empty folder
# (nothing beside it, no service URLs in the environment, no target folder), then
# `cargo test --workspace`, then `cargo run --release -p eventschema-cli -- serve` on the
# embedded default, checked with a request to its HTTP API.
#
# Usage: tests/fresh-clone.sh [REVISION]   (default HEAD; committed work only, as a clone has)
#
# The one thing reused is cargo's download cache (~/.cargo/registry), which every user who
# has built any Rust project has too. The build goes into an empty CARGO_TARGET_DIR in a
# temporary folder of its own, outside the clone (as for a developer with a global target
# folder), so the run also proves that no test depends on where the target folder lives.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
revision=${1:-HEAD}
# shellcheck source=registry-url.sh
source "$root/tests/registry-url.sh"
workdir=$(mktemp -d)
targetdir=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$workdir" "$targetdir"
}
trap cleanup EXIT

git clone --quiet --no-local --no-hardlinks "$root" "$workdir/eventschema"
git -C "$workdir/eventschema" checkout --quiet --detach "$revision"
cd "$workdir/eventschema"
echo "fresh clone of $(git rev-parse --short HEAD) in $workdir/eventschema ($(ls "$workdir" | wc -l) entry beside nothing)"

# A user's shell: no service URLs, no CI switches, no target folder of ours.
clean_env=(env -u DATABASE_URL -u REDIS_URL -u NATS_URL -u AMQP_URL -u KAFKA_URL -u MYSQL_URL
  -u EVENTSCHEMA_REQUIRE_SERVICES -u CI CARGO_TARGET_DIR="$targetdir")

echo "-- cargo test --workspace"
start=$(date +%s)
"${clean_env[@]}" cargo test --workspace
echo "fresh clone: cargo test --workspace took $(($(date +%s) - start)) s"

echo "-- cargo run --release -p eventschema-cli -- serve"
start=$(date +%s)
"${clean_env[@]}" cargo build --release -p eventschema-cli
echo "fresh clone: release build took $(($(date +%s) - start)) s"
log=$workdir/serve.log
# The README's command as written, on a port of its own so a registry already running on
# the default port does not stand in for this one.
"${clean_env[@]}" EVENTSCHEMA_LISTEN=127.0.0.1:0 \
  cargo run --release -p eventschema-cli -- serve >"$log" 2>&1 &
server=$!
url=$(registry_url "$log" 300)
body='{"schema": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}"}'
answer=$(curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
  "$url/subjects/orders-value/versions" -d "$body")
case "$answer" in '{"id":1'*) ;; *) false ;; esac || { echo "unexpected answer from $url: $answer" >&2; exit 1; }
[ -f data/registry.db ] || { echo "serve did not create its embedded database data/registry.db" >&2; exit 1; }
echo "fresh clone: serve answered $answer on $url and keeps data/registry.db"
