#!/usr/bin/env bash
# The edit-build-run loop's cost: for each example, builds a fresh module
# (the program with a new statement appended: new data, same engine) and times
# its first and second `kiln run`, with a cache that has already compiled
# the engine and run one other module. Prints a Markdown table.
#
#   ./scripts/first-run.sh [KILN] [ROUNDS]     (default target/release/kiln, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=$(realpath "${1:-target/release/kiln}")
rounds=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KILN_CACHE_DIR="$work/cache"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# Runs a module; prints "wall-ms compile-ms" (compile from --stats).
timed_run() {
    local start stats
    start=$(date +%s%N)
    stats=$("$kiln" run --stats "$1" < "$2" 2>&1 >/dev/null | grep '^kiln run: fuel')
    echo "$(ms "$start") $(sed -E 's/.*compile ([0-9.]+) ms.*/\1/' <<<"$stats")"
}

# Warm the cache: the engine (for builds) and one module's run.
cp examples/hello/hello.js "$work/warm.js"
"$kiln" build -q "$work/warm.js" -o "$work/warm.wasm"
timed_run "$work/warm.wasm" examples/hello/input.txt >/dev/null

echo "| example | round | first run wall ms | (compile ms) | second run wall ms | (compile ms) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for example in hello:hello.js:input.txt discount:discount.js:input.json; do
    IFS=: read -r name entry input <<<"$example"
    for round in $(seq "$rounds"); do
        # A statement, not a comment: comments do not reach the module.
        { cat "examples/$name/$entry"; echo "globalThis.round = '$round $$ $(date +%s%N)';"; } > "$work/$entry"
        "$kiln" build -q "$work/$entry" -o "$work/$name.wasm"
        read -r first first_compile < <(timed_run "$work/$name.wasm" "examples/$name/$input")
        read -r second second_compile < <(timed_run "$work/$name.wasm" "examples/$name/$input")
        echo "| $name | $round | $first | $first_compile | $second | $second_compile |"
    done
done
