# Sourced by the scripts that start `eventschema serve` on port 0: waits for the address the
# registry prints when it listens. `registry_url LOG TRIES` prints it, or prints the log and
# fails after TRIES tenths of a second.
registry_url() {
  local log=$1 tries=$2 url=""
  for _ in $(seq 1 "$tries"); do
    url=$(grep -o 'http://[0-9.:]*' "$log" | head -n 1 || true)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  echo "the registry did not start:" >&2
  cat "$log" >&2
  return 1
}
