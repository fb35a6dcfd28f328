// `ShopifyFunction`: the API `@shopify/shopify_function` v2 calls (its
// `run.ts`: `ShopifyFunction.readInput()`, then the user's function, then
// `ShopifyFunction.writeOutput(result)`), so functions written for Shopify
// run unchanged.
//
// Inside an invoked function (function mode) the input is the invocation's
// own — already read and converted by the engine — and `writeOutput` makes
// a value the invocation's result. Elsewhere (a script) they read all of
// stdin as JSON and write a value's JSON text to stdout, as `Javy.JSON`.
(function (native) {
  "use strict";

  // Taken now, so that a program replacing the global JSON cannot change
  // what writeOutput writes.
  const stringify = JSON.stringify;
  const ShopifyFunction = {
    readInput() {
      const call = native.invocationInput();
      return call === null ? native.readAll(2) : call[0];
    },
    writeOutput(value) {
      if (native.invocationOutput(value)) return;
      const text = stringify(value);
      if (text === undefined) {
        throw new TypeError("ShopifyFunction.writeOutput: the value has no JSON form (undefined, a function or a symbol)");
      }
      native.write(1, text);
    },
  };
  Object.defineProperty(globalThis, "ShopifyFunction", {
    value: Object.freeze(ShopifyFunction),
    writable: true,
    configurable: true,
    enumerable: false,
  });
});
