// An ES module with top-level await: Promise jobs run to completion before
// the module exits, in the order the language defines.

const log = [];
const delay = (value) => new Promise((resolve) => queueMicrotask(() => resolve(value)));

async function stage(name, input) {
  const value = await delay(input);
  log.push(`${name}(${value})`);
  return value * 2;
}

let value = 1;
for (const name of ["parse", "check", "emit"]) value = await stage(name, value);
Promise.resolve().then(() => console.log("microtask after the top level"));
console.log(log.join(" -> "), "=", value);
export {};
