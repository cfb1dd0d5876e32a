#!/bin/sh
# Compile time of a crate holding the code generated for N synthetic schemas
# (codegen-load --write-crate). Dependencies are built first and not counted; the timed
# build compiles only the generated crate (dev profile, then release).
# Usage: bench/compile-generated.sh [SUBJECTS] [VERSIONS]   (default 250 x 4 = 1,000 schemas)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
subjects=${1:-250}
versions=${2:-4}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$root"
cargo build --release -q -p eventschema-bench --bin codegen-load
target/release/codegen-load --runs 1 --subjects "$subjects" --versions "$versions" \
  --write-crate "$dir" --runtime-path "$root/runtime"
# The generated crate is its own workspace; its own target dir keeps the main one intact.
export CARGO_TARGET_DIR="$root/target/generated-bench"
for profile in dev release; do
  flag=""; [ "$profile" = release ] && flag="--release"
  # Warm: build the dependencies with an empty crate body.
  cp "$dir/src/generated.rs" "$dir/generated.rs.keep"
  : > "$dir/src/generated.rs"
  (cd "$dir" && cargo build -q $flag)
  cp "$dir/generated.rs.keep" "$dir/src/generated.rs"
  start=$(date +%s.%N)
  (cd "$dir" && cargo build -q $flag)
  end=$(date +%s.%N)
  echo "$profile: compiled $((subjects * versions)) generated schemas in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
done
