// Preloaded by Node (`node --require`) when it runs check.js for the expected
// output: the one piece of Kiln's API the program uses, read from Node's stdin.
const { readFileSync } = require("node:fs");
globalThis.Kiln = { stdin: { text: () => readFileSync(0, "utf8") } };
