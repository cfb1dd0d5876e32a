#!/bin/sh
# Compile time of a crate holding the code generated for N synthetic schemas
# (codegen-load --write-crate). Dependencies are built first and not counted; the timed
# build compiles only the generated crate. The crate reuses the workspace's Cargo.lock,
# profiles and target directory, so dependencies already built by the workspace are reused.
# PROFILES="dev release" to time both (default: dev).
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
cp "$root/Cargo.lock" "$dir/Cargo.lock"
sed -n '/^\[profile/,$p' "$root/Cargo.toml" >> "$dir/Cargo.toml"
export CARGO_TARGET_DIR="$root/target"
for profile in ${PROFILES:-dev}; do
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
