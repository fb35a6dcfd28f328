// Runs a Kiln module (any WASI preview 1 command) in a browser, through the
// WASI shim from npm (`@bjorn3/browser_wasi_shim`): stdin is the bytes you
// give, stdout and stderr are collected, and the exit status is returned.
//
//   import { runModule } from "./kiln-wasi.js";
//   const { status, stdout, stderr } = await runModule(wasmBytes, stdinBytes);
//
// The module gets no arguments but its name, no environment and no files.

import { ConsoleStdout, File, OpenFile, WASI } from "@bjorn3/browser_wasi_shim";

export async function runModule(wasmBytes, stdinBytes = new Uint8Array(0), name = "app.wasm") {
  const stdout = [];
  const stderr = [];
  const fds = [
    new OpenFile(new File(stdinBytes, { readonly: true })),
    new ConsoleStdout((bytes) => stdout.push(bytes.slice())),
    new ConsoleStdout((bytes) => stderr.push(bytes.slice())),
  ];
  const wasi = new WASI([name], [], fds);
  const module = await WebAssembly.compile(wasmBytes);
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
  let status;
  try {
    status = wasi.start(instance);
  } catch (error) {
    // A trap (a bug in the module): reported as `kiln run` reports it.
    stderr.push(new TextEncoder().encode(`error: ${name} trapped: ${error.message}\n`));
    status = 134;
  }
  return { status, stdout: concat(stdout), stderr: concat(stderr) };
}

function concat(chunks) {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}
