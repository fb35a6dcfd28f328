// Runs one target of this example on Node, for its expected output: Node
// has no `ShopifyFunction`, so this stands in for it (stdin parsed as JSON;
// the result written as JSON and a newline, as Kiln's function mode does).
//
//   node node/shim.mjs cartLinesDiscountsGenerateRun < input.json > expected.out
import { readFileSync } from "node:fs";

globalThis.ShopifyFunction = {
  readInput: () => JSON.parse(readFileSync(0, "utf8")),
  writeOutput: (value) => process.stdout.write(JSON.stringify(value) + "\n"),
};
const targets = await import("../index.js");
targets[process.argv[2]]();
