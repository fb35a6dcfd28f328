#!/usr/bin/env bash
# Installs what building Kiln needs, and only what is missing:
#   - the Rust target wasm32-wasip1 (for the engine);
#   - clang, lld and llvm-ar for wasm32-wasi, Debian's wasi-libc and the
#     wasm32 compiler runtime (QuickJS's C code is compiled with them);
#   - binaryen's wasm-opt (shrinks the engine behind `kiln build --lean`);
#   - Node.js (the second WASI host the tests run modules on) and npm (the
#     test fixtures' npm projects are installed from their lockfiles);
#   - the other hosts of the test matrix (compiler/tests/all/hosts.rs):
#     PyPI's wasmtime (wasmtime's default configuration), wasmi_cli (an
#     interpreter; built from crates.io into target/hosts, ~3 minutes on 2
#     idle cores, once), the wasmtime CLI (likewise, ~8 minutes, once),
#     Debian's chromium and, in examples/browser, the
#     npm packages of the browser example (a WASI shim, playwright-core).
# Safe to run any number of times. With `--build-only` (what demo.sh
# passes), only what building and running Kiln needs: the test matrix's
# hosts are left out (they take ~15 minutes to build the first time).
set -euo pipefail

build_only=false
case "${1:-}" in
  --build-only) build_only=true ;;
  "") ;;
  *) printf '[kiln setup] unknown option %s (expected --build-only or nothing)\n' "$1" >&2; exit 2 ;;
esac

say() { printf '[kiln setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
  say "cargo and rustup are required (https://rustup.rs); install Rust first."
  exit 1
fi

if rustup target list --installed | grep -qx wasm32-wasip1; then
  say "rust target wasm32-wasip1: present"
else
  say "rust target wasm32-wasip1: installing"
  rustup target add wasm32-wasip1
fi

packages=(clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32 binaryen)
$build_only || packages+=(chromium)
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
command -v node >/dev/null || packages+=(nodejs)
# npm installs the test fixtures' packages (`npm ci` from their lockfiles).
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "debian packages: present (${packages[*]})"
else
  say "debian packages: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

say "node: $(node --version), npm: $(npm --version)"

root="$(cd "$(dirname "$0")/.." && pwd)"

if $build_only; then
  say "ready to build (the test suite's hosts are installed by ./scripts/test.sh)"
  exit 0
fi

# wasmtime as most users meet it (the CLI's and the embeddings' defaults).
WASMTIME_PY=50.0.1
if python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('wasmtime') != '$WASMTIME_PY')" 2>/dev/null; then
  say "python wasmtime $WASMTIME_PY: present"
else
  say "python wasmtime $WASMTIME_PY: installing (pip)"
  python3 -m pip install -q "wasmtime==$WASMTIME_PY" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "wasmtime==$WASMTIME_PY"
fi

# wasmi, an interpreter, with its default limits.
WASMI=2.0.0
wasmi="$root/target/hosts/bin/wasmi"
if [ -x "$wasmi" ] && "$wasmi" --version 2>/dev/null | grep -q "$WASMI"; then
  say "wasmi_cli $WASMI: present"
else
  say "wasmi_cli $WASMI: installing into target/hosts (cargo install, ~3 minutes)"
  cargo install -q --locked "wasmi_cli@$WASMI" --root "$root/target/hosts"
fi

# The wasmtime CLI, for `wasmtime run --preload` (dynamic modules) and as
# the matrix's wasmtime with its CLI defaults. Only the `run` command and
# Cranelift are built (the defaults would add serve, wast, wasi-nn, ...).
WASMTIME_CLI=48.0.8
wasmtime_cli="$root/target/hosts/bin/wasmtime"
if [ -x "$wasmtime_cli" ] && "$wasmtime_cli" --version 2>/dev/null | grep -q "$WASMTIME_CLI"; then
  say "wasmtime-cli $WASMTIME_CLI: present"
else
  say "wasmtime-cli $WASMTIME_CLI: installing into target/hosts (cargo install, run+cranelift only, ~8 minutes)"
  cargo install -q --locked "wasmtime-cli@$WASMTIME_CLI" --no-default-features --features run,cranelift --root "$root/target/hosts"
fi

# The browser example's npm packages, exactly as locked.
if [ -d "$root/examples/browser/node_modules/@bjorn3/browser_wasi_shim" ] && [ -d "$root/examples/browser/node_modules/playwright-core" ]; then
  say "examples/browser npm packages: present"
else
  say "examples/browser npm packages: installing (npm ci)"
  (cd "$root/examples/browser" && npm ci --silent --no-audit --no-fund)
fi
say "ready"
