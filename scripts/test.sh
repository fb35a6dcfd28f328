#!/usr/bin/env bash
# Runs Kiln's whole test suite: native unit tests of every crate, then the
# end-to-end tests that build each example and run it on the embedded
# wasmtime and on Node's node:wasi. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
echo "[kiln test] cargo test --release (the first build compiles wasmtime: ~10 minutes on 2 cores)" >&2
cargo test --release
# The engine's own unit tests (it is not a default member: it is built for
# wasm32-wasip1 by compiler/build.rs; natively only for these tests).
echo "[kiln test] cargo test --release -p kiln-engine --lib (the engine's unit tests, natively)" >&2
cargo test --release -p kiln-engine --lib
