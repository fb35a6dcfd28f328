#!/usr/bin/env bash
# Fuzzes Kiln's build pipeline for a bounded time: arbitrary bytes and
# mutated JavaScript through Source::from_bytes -> Compiler::compile (one
# compiler reused, the engine compiled once into a cache). Every input must
# end in a module or a clean kiln::Error; a panic, abort, trap or a build
# slower than 60 s is a finding, saved under fuzz/artifacts/compile/.
#
#   scripts/fuzz.sh [SECONDS]     # default 300
#
# Installs cargo-fuzz from crates.io if missing. cargo-fuzz drives nightly
# rustc flags; on this stable toolchain RUSTC_BOOTSTRAP=1 allows them, and
# `-s none` builds without AddressSanitizer (the engine's C code runs inside
# wasm, where ASan could not see it anyway). The checked-in seeds
# (fuzz/corpus/compile) are read; new inputs go to target/fuzz-corpus.
# The first run compiles wasmtime with coverage: ~10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "[kiln fuzz] installing cargo-fuzz (crates.io)" >&2
    cargo install cargo-fuzz --locked
fi

# Embed an engine that is already built instead of building it again inside
# the fuzz workspace (compiler/build.rs honours KILN_ENGINE_WASM).
engine="target/kiln-engine/wasm32-wasip1/engine/kiln_engine.wasm"
if [[ -z "${KILN_ENGINE_WASM:-}" && -f "$engine" ]]; then
    export KILN_ENGINE_WASM="$PWD/$engine"
fi
export RUSTC_BOOTSTRAP=1
export KILN_CACHE_DIR="${KILN_CACHE_DIR:-$PWD/target/kiln-fuzz-cache}"
mkdir -p target/fuzz-corpus
# The examples are seeds too (copied, not duplicated in fuzz/corpus).
cp examples/*/*.js examples/*/*.mjs target/fuzz-corpus/ 2>/dev/null || true

echo "[kiln fuzz] building the fuzz target" >&2
cargo fuzz build -s none --release compile
echo "[kiln fuzz] fuzzing for ${seconds}s" >&2
cargo fuzz run -s none --release compile target/fuzz-corpus fuzz/corpus/compile -- \
    -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -max_len=65536
