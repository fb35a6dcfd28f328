#!/usr/bin/env bash
# Kiln's main job on a fresh machine: install what is missing, build Kiln,
# compile the Shopify-style discount example and run it on a cart.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --build-only
echo "[kiln demo] building kiln (the first build compiles wasmtime: ~10 minutes on 2 cores)" >&2
cargo build --release --bin kiln
mkdir -p target/demo
echo "[kiln demo] kiln build examples/discount/discount.js -o target/demo/discount.wasm" >&2
./target/release/kiln build examples/discount/discount.js -o target/demo/discount.wasm
echo "[kiln demo] kiln run --stats target/demo/discount.wasm < examples/discount/input.json" >&2
./target/release/kiln run --stats target/demo/discount.wasm < examples/discount/input.json
echo
