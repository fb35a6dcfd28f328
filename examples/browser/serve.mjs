#!/usr/bin/env node
// Serves this page (and the WASI shim from node_modules) on 127.0.0.1, plus
// the modules named on the command line, each under its file name:
//
//   npm ci                                   # once: installs the shim
//   node serve.mjs ../hello/hello.wasm       # then open the URL it prints
//
// `--port N` picks the port (default 8080; 0: any free one). Only files in
// this directory and the named modules are served.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { basename, dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

/// Starts the server; resolves to its URL once it listens.
export function serve(modules, port = 8080) {
  const named = new Map(modules.map((path) => [`/${basename(path)}`, path]));
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://localhost").pathname);
    const file = named.get(path) ?? join(here, normalize(path === "/" ? "/index.html" : path));
    if (!named.has(path) && !file.startsWith(here)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let args = process.argv.slice(2);
  let port = 8080;
  if (args[0] === "--port") {
    port = Number(args[1]);
    args = args.slice(2);
  }
  const { url } = await serve(args, port);
  const first = args.length ? `?module=${encodeURIComponent(basename(args[0]))}` : "";
  console.log(`serving on ${url}${first}`);
}
