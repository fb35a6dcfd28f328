#!/usr/bin/env node
// Runs a WASI preview 1 module on Node's `node:wasi`: an independent second
// host for Kiln's modules. stdin, stdout and stderr are passed through and
// the module's exit status becomes this process's. The module gets no
// environment variables and no directories.
//
//   node examples/run-node.mjs app.wasm [args...] < input.json
//   node examples/run-node.mjs --invoke NAME app.wasm < input.json
//
// `--invoke NAME` calls export NAME (a function-mode module's entry point)
// instead of `_start`.
//
// The module runs in a worker thread with a 16 MiB stack, the native stack
// `kiln run` gives it too: wasm frames live on the host's stack, and
// QuickJS's recursion limit is sized to throw a RangeError well before that
// much is used (Node's own default, ~1 MB, is smaller than the limit needs).

import { writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { argv, exit } from "node:process";
import { setFlagsFromString } from "node:v8";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

// Node 20's V8 can crash (a fatal error in garbage collection, or SIGSEGV)
// when a collection runs while a wasm module grows a large memory; without
// incremental marking it does not (100 MB through a module crashed every
// time before, never after).
setFlagsFromString("--no-incremental-marking");

/// Native stack for the module's thread, in MiB (see above): equal to
/// `kiln_abi::stack::RUN_WASM_STACK`, what `kiln run` gives a module.
const STACK_MB = 16;

if (isMainThread) {
  let rest = argv.slice(2);
  let entry = "_start";
  if (rest[0] === "--invoke") {
    entry = rest[1];
    rest = rest.slice(2);
  }
  const [path, ...args] = rest;
  if (!path) {
    console.error("usage: node run-node.mjs MODULE.wasm [ARGS...]");
    exit(2);
  }
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { path, args, entry },
    // V8 checks JavaScript and wasm frames against this; the thread itself
    // is created with a little more.
    resourceLimits: { stackSizeMb: STACK_MB },
    stdout: false,
    stderr: false,
  });
  // Exit once the worker has ended by itself: exiting while it is still
  // being torn down can crash Node when the module's memory is large.
  let status = 134;
  worker.on("message", (code) => {
    status = code;
  });
  worker.on("error", (error) => {
    console.error(`error: ${error.message}`);
  });
  worker.on("exit", () => exit(status));
} else {
  const status = await runModule(workerData);
  parentPort.postMessage(status);
}

// A worker's console is relayed through the main thread asynchronously and
// could be lost at exit; write diagnostics to fd 2 directly.
function say(line) {
  writeSync(2, `${line}\n`);
}

async function runModule({ path, args, entry }) {
  // node:wasi prints an ExperimentalWarning on stderr; it would break
  // byte-for-byte comparisons of the module's own stderr.
  process.removeAllListeners("warning");
  const { WASI } = await import("node:wasi");
  let bytes;
  try {
    bytes = await readFile(path);
  } catch (error) {
    say(`error: reading ${path}: ${error.message}`);
    return 2;
  }
  const wasi = new WASI({ version: "preview1", args: [path, ...args], env: {}, returnOnExit: true });
  let module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (error) {
    say(`error: ${path} is not a WebAssembly module: ${error.message}`);
    return 2;
  }
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  const { memory } = instance.exports;
  const run = instance.exports[entry];
  if (typeof run !== "function") {
    say(`error: ${path} has no exported function \`${entry}\``);
    return 2;
  }
  // wasi.start() calls `_start`; present the chosen export under that name.
  try {
    return wasi.start({ exports: { memory, _start: run } });
  } catch (error) {
    // A trap: one line, as `kiln run` reports it.
    say(`error: ${path} trapped: ${error.message}`);
    return 134;
  }
}
