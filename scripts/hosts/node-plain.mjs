#!/usr/bin/env node
// Runs a WASI preview 1 module on Node's `node:wasi` the plain way, as a
// user's own loader would: on the main thread, with Node's default stack and
// V8 flags, `new WASI({ version: "preview1", returnOnExit: true })` and
// `wasi.start(instance)`. (`examples/run-node.mjs` instead gives the module a
// worker with a 16 MiB stack.) A Kiln module must run here unchanged.
//
//   node scripts/hosts/node-plain.mjs app.wasm [ARGS...] < input.json
//
// The exit status is the module's; a trap prints one line and exits 134.

import { readFileSync } from "node:fs";
import { argv, exit } from "node:process";
import { WASI } from "node:wasi";

process.removeAllListeners("warning");
const [path, ...args] = argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [path, ...args], env: {}, returnOnExit: true });
const module = new WebAssembly.Module(readFileSync(path));
const instance = new WebAssembly.Instance(module, wasi.getImportObject());
let status;
try {
  status = wasi.start(instance);
} catch (error) {
  process.stderr.write(`error: ${path} trapped: ${error.message}\n`);
  status = 134;
}
exit(status);
