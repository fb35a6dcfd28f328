// `Javy.IO` and `Javy.JSON`: the synchronous I/O of Javy and Shopify's
// JavaScript functions, so programs written for them run unchanged.
(function (native) {
  "use strict";

  function checkBytes(data, what) {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`${what}: data must be a Uint8Array`);
    }
  }

  const IO = {
    readSync(fd, data) {
      checkBytes(data, "readSync");
      return native.read(fd, data.buffer, data.byteOffset, data.byteLength);
    },
    writeSync(fd, data) {
      checkBytes(data, "writeSync");
      return native.write(fd, data);
    },
  };
  // Javy's JSON helpers (its `javy-json` option): all of stdin parsed as
  // one JSON value (gathered natively, as `Kiln.stdin.json()`), and a
  // value's JSON text written to stdout, without a newline.
  // Taken now, so that a program replacing the global JSON cannot change
  // what toStdout writes.
  const stringify = JSON.stringify;
  const JSONIO = {
    fromStdin() {
      return native.readAll(2);
    },
    toStdout(value) {
      const text = stringify(value);
      if (text === undefined) {
        throw new TypeError("Javy.JSON.toStdout: the value has no JSON form (undefined, a function or a symbol)");
      }
      native.write(1, text);
    },
  };
  const Javy = { IO: Object.freeze(IO), JSON: Object.freeze(JSONIO) };
  Object.defineProperty(globalThis, "Javy", { value: Javy, writable: true, configurable: true, enumerable: false });
});
