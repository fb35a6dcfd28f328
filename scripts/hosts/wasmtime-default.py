#!/usr/bin/env python3
"""Runs a WASI preview 1 module on wasmtime with its default configuration.

This is the host most users meet: the `wasmtime` CLI and wasmtime's Python,
Go, .NET and C embeddings all default to 512 KiB of native stack for wasm
frames. A Kiln module must run here unchanged, so the tests run it here as a
user would (PyPI's `wasmtime` package, installed by scripts/setup.sh):

    python3 scripts/hosts/wasmtime-default.py app.wasm [ARGS...] < input.json
    python3 scripts/hosts/wasmtime-default.py --invoke NAME app.wasm < input.json
    python3 scripts/hosts/wasmtime-default.py --max-wasm-stack BYTES app.wasm
    python3 scripts/hosts/wasmtime-default.py --preload NAMESPACE=kiln-engine.wasm app.wasm

stdin, stdout and stderr are inherited; no environment, no directories. The
exit status is the module's; a trap prints one line and exits 134, as
`kiln run` does. `--max-wasm-stack` changes the one setting this host exists
to keep at its default; it is there to measure stack use per call.
`--preload NAMESPACE=FILE` does what `wasmtime run --preload` does: FILE is
instantiated first and its exports are linked under NAMESPACE (a dynamic
Kiln module's shared engine, through wasmtime's `Linker`).
"""

import sys

import wasmtime


def main(argv):
    entry, max_stack, preloads = "_start", None, []
    while argv and argv[0].startswith("--"):
        flag, value, argv = argv[0], argv[1], argv[2:]
        if flag == "--invoke":
            entry = value
        elif flag == "--max-wasm-stack":
            max_stack = int(value)
        elif flag == "--preload":
            namespace, _, file = value.partition("=")
            preloads.append((namespace, file))
        else:
            print(f"error: unknown option {flag}", file=sys.stderr)
            return 2
    if not argv:
        print("usage: wasmtime-default.py [--invoke NAME] [--max-wasm-stack BYTES] [--preload NAMESPACE=FILE] MODULE.wasm [ARGS...]", file=sys.stderr)
        return 2
    path, args = argv[0], argv[1:]

    config = wasmtime.Config()
    if max_stack is not None:
        config.max_wasm_stack = max_stack
    engine = wasmtime.Engine(config)
    try:
        module = wasmtime.Module.from_file(engine, path)
    except Exception as error:  # not a file, not wasm: one line, no traceback
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    wasi = wasmtime.WasiConfig()
    wasi.argv = [path, *args]
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    try:
        for namespace, file in preloads:
            linker.define_instance(store, namespace, linker.instantiate(store, wasmtime.Module.from_file(engine, file)))
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as error:  # an unresolved import: one line
        print(f"error: {path} cannot be linked: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    run = instance.exports(store).get(entry)
    if run is None:
        print(f"error: {path} has no exported function `{entry}`", file=sys.stderr)
        return 2
    try:
        run(store)
    except wasmtime.ExitTrap as exit:
        return exit.code
    except wasmtime.Trap as trap:
        # One line, the cause (wasmtime's message ends with it), no backtrace.
        lines = [line.strip() for line in trap.message.strip().splitlines()]
        print(f"error: {path} trapped: {lines[-1] if lines else trap.trap_code}", file=sys.stderr)
        return 134
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
