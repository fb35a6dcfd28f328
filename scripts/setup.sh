#!/usr/bin/env bash
# Installs what building Kiln needs, and only what is missing:
#   - the Rust target wasm32-wasip1 (for the engine);
#   - clang, lld and llvm-ar for wasm32-wasi, Debian's wasi-libc and the
#     wasm32 compiler runtime (QuickJS's C code is compiled with them);
#   - binaryen's wasm-opt (shrinks the engine behind `kiln build --lean`);
#   - Node.js (the second WASI host the tests run modules on) and npm (the
#     test fixtures' npm projects are installed from their lockfiles).
# Safe to run any number of times.
set -euo pipefail

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
say "ready"
