// `Kiln`: whole-stream I/O for programs that read all of stdin at once.
// The bytes are gathered natively in one buffer (no string building in
// JavaScript), so large inputs cost one pass; all of it is binary-safe.
(function (native) {
  "use strict";

  let consumed = false;
  function take(what) {
    if (consumed) throw new Error(`Kiln.stdin.${what}(): stdin has already been read`);
    consumed = true;
  }

  const stdin = {
    /** All of stdin as a Uint8Array. */
    bytes() {
      take("bytes");
      return native.readAll(0);
    },
    /** All of stdin decoded as UTF-8 (invalid bytes become U+FFFD). */
    text() {
      take("text");
      return native.readAll(1);
    },
    /** All of stdin parsed as one JSON value. */
    json() {
      take("json");
      return native.readAll(2);
    },
  };
  const stdout = {
    /** Writes a string (as UTF-8) or a Uint8Array; returns the byte count. */
    write(data) {
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        throw new TypeError("Kiln.stdout.write: data must be a string or a Uint8Array");
      }
      return native.write(1, data);
    },
  };
  const Kiln = Object.freeze({ stdin: Object.freeze(stdin), stdout: Object.freeze(stdout) });
  Object.defineProperty(globalThis, "Kiln", { value: Kiln, writable: true, configurable: true, enumerable: false });
});
