#!/usr/bin/env node
// Runs a WASI preview 1 module on Node's `node:wasi`: an independent second
// host for Kiln's modules. stdin, stdout and stderr are passed through and
// the module's exit status becomes this process's. The module gets no
// environment variables and no directories.
//
//   node examples/run-node.mjs app.wasm [args...] < input.json
//   node examples/run-node.mjs --invoke NAME app.wasm < input.json
//   node examples/run-node.mjs --engine kiln-engine.wasm app.wasm < input.json
//
// `--invoke NAME` calls export NAME (a function-mode module's entry point)
// instead of `_start`. `--engine FILE` links a dynamic module (`kiln build
// --dynamic`) against the shared engine (`kiln engine -o FILE`): the engine
// is instantiated with WASI's imports, then the module with the engine's
// exports under the namespace the module imports (`kiln-engine-v3-...`).
// An engine of another namespace leaves that import unresolved: a
// LinkError, never a wrong run.
//
// The module runs in a worker thread with a 16 MiB stack, the native stack
// `kiln run` gives it too: wasm frames live on the host's stack. As `kiln
// run` does, this runner tells a Kiln module how much it has (it writes the
// size into the cell named by the module's `kiln.host-stack` custom
// section), and the module sizes its recursion limit to it; on a host that
// says nothing the module assumes a small stack and recurses less deep.

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
  let engine = null;
  for (;;) {
    if (rest[0] === "--invoke") {
      entry = rest[1];
      rest = rest.slice(2);
    } else if (rest[0] === "--engine") {
      engine = rest[1];
      rest = rest.slice(2);
    } else {
      break;
    }
  }
  const [path, ...args] = rest;
  if (!path) {
    console.error("usage: node run-node.mjs [--invoke NAME] [--engine ENGINE.wasm] MODULE.wasm [ARGS...]");
    exit(2);
  }
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { path, args, entry, engine },
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

/// Writes the native stack this runner gives into a Kiln module's host-stack
/// cell (a little-endian u32 at the address its `kiln.host-stack` custom
/// section holds); a module without one is left alone.
function tellHostStack(module, memory, bytes) {
  const [section] = WebAssembly.Module.customSections(module, "kiln.host-stack");
  if (section?.byteLength === 4) {
    const address = new DataView(section).getUint32(0, true);
    new DataView(memory.buffer).setUint32(address, bytes, true);
  }
}

// A worker's console is relayed through the main thread asynchronously and
// could be lost at exit; write diagnostics to fd 2 directly.
function say(line) {
  writeSync(2, `${line}\n`);
}

async function compileFile(path) {
  let bytes;
  try {
    bytes = await readFile(path);
  } catch (error) {
    say(`error: reading ${path}: ${error.message}`);
    return null;
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    say(`error: ${path} is not a WebAssembly module: ${error.message}`);
    return null;
  }
}

async function runModule({ path, args, entry, engine }) {
  // node:wasi prints an ExperimentalWarning on stderr; it would break
  // byte-for-byte comparisons of the module's own stderr.
  process.removeAllListeners("warning");
  const { WASI } = await import("node:wasi");
  const wasi = new WASI({ version: "preview1", args: [path, ...args], env: {}, returnOnExit: true });
  const module = await compileFile(path);
  if (!module) {
    return 2;
  }
  let imports = wasi.getImportObject();
  // The module that says how much stack it wants told: the engine, when
  // linking a dynamic module.
  let stackModule = module;
  let memory;
  if (engine) {
    const engineModule = await compileFile(engine);
    if (!engineModule) {
      return 2;
    }
    const engineInstance = await WebAssembly.instantiate(engineModule, wasi.getImportObject());
    const [section] = WebAssembly.Module.customSections(engineModule, "kiln.engine");
    const namespace = section ? new TextDecoder().decode(section) : "(not a Kiln engine)";
    imports = { [namespace]: engineInstance.exports };
    stackModule = engineModule;
    memory = engineInstance.exports.memory;
  }
  let instance;
  try {
    // A dynamic module's instantiation writes its program into the
    // engine's memory.
    instance = await WebAssembly.instantiate(module, imports);
  } catch (error) {
    say(`error: ${path} cannot be linked${engine ? ` against ${engine}` : ""}: ${error.message}`);
    return 2;
  }
  memory ??= instance.exports.memory;
  const run = instance.exports[entry];
  if (typeof run !== "function") {
    say(`error: ${path} has no exported function \`${entry}\``);
    return 2;
  }
  tellHostStack(stackModule, memory, STACK_MB << 20);
  // wasi.start() calls `_start`; present the chosen export under that name.
  try {
    return wasi.start({ exports: { memory, _start: run } });
  } catch (error) {
    // A trap: one line, as `kiln run` reports it.
    say(`error: ${path} trapped: ${error.message}`);
    return 134;
  }
}
