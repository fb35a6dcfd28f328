// Runs every JSONTestSuite case (stdin: the package's `parsing` list as
// JSON) through JSON.parse and prints one line per case: the value
// re-serialised, or the name of the error thrown. The same program runs on
// Node (with node-kiln-stdin.cjs preloaded) and, built by Kiln, on wasmtime
// and node:wasi.
const text = Kiln.stdin.text();
for (const { name, input } of JSON.parse(text)) {
  let outcome;
  try {
    outcome = "ok " + JSON.stringify(JSON.parse(input));
  } catch (e) {
    outcome = "throws " + e.name;
  }
  console.log(name, outcome);
}
