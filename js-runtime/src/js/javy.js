// `Javy.IO`: the synchronous byte I/O of Javy and Shopify's JavaScript
// functions, so programs written for them run unchanged.
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
  const Javy = { IO: Object.freeze(IO) };
  Object.defineProperty(globalThis, "Javy", { value: Javy, writable: true, configurable: true, enumerable: false });
});
