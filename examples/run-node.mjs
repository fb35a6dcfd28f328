#!/usr/bin/env node
// Runs a WASI preview 1 module on Node's `node:wasi`: an independent second
// host for Kiln's modules. stdin, stdout and stderr are passed through and
// the module's exit status becomes this process's.
//
//   node examples/run-node.mjs app.wasm [args...] < input.json
//   node examples/run-node.mjs --invoke NAME app.wasm < input.json
//
// `--invoke NAME` calls export NAME (a function-mode module's entry point)
// instead of `_start`.

import { readFile } from "node:fs/promises";
import { argv, exit } from "node:process";

// node:wasi prints an ExperimentalWarning on stderr; it would break
// byte-for-byte comparisons of the module's own stderr.
process.removeAllListeners("warning");
const { WASI } = await import("node:wasi");

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

let bytes;
try {
  bytes = await readFile(path);
} catch (error) {
  console.error(`error: reading ${path}: ${error.message}`);
  exit(2);
}

const wasi = new WASI({ version: "preview1", args: [path, ...args], env: {}, returnOnExit: true });
let module;
try {
  module = await WebAssembly.compile(bytes);
} catch (error) {
  console.error(`error: ${path} is not a WebAssembly module: ${error.message}`);
  exit(2);
}
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const { memory } = instance.exports;
const run = instance.exports[entry];
if (typeof run !== "function") {
  console.error(`error: ${path} has no exported function \`${entry}\``);
  exit(2);
}
// wasi.start() calls `_start`; present the chosen export under that name.
exit(wasi.start({ exports: { memory, _start: run } }));
