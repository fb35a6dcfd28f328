// An uncaught exception: the module prints what it had written so far,
// reports the error with its stack on stderr, and exits with status 1.
function parsePrice(text) {
  const value = Number(text);
  if (Number.isNaN(value)) throw new TypeError(`not a price: ${text}`);
  return value;
}

console.log("parsing prices");
for (const text of ["1.50", "2", "free"]) {
  console.log(parsePrice(text));
}
