// TextEncoder and TextDecoder (UTF-8). The byte work is native; these classes
// only check arguments and give the WHATWG shape.
(function (native) {
  "use strict";

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return native.encodeUtf8(String(input));
    }
  }

  function viewOf(input) {
    if (input === undefined) return [new ArrayBuffer(0), 0, 0];
    if (input instanceof ArrayBuffer) return [input, 0, input.byteLength];
    if (ArrayBuffer.isView(input)) return [input.buffer, input.byteOffset, input.byteLength];
    throw new TypeError("The \"input\" argument must be an ArrayBuffer or ArrayBufferView");
  }

  const UTF8_LABELS = ["utf-8", "utf8", "unicode-1-1-utf-8"];

  class TextDecoder {
    #fatal;
    #ignoreBOM;
    constructor(label = "utf-8", options = {}) {
      const normalized = String(label).trim().toLowerCase();
      if (!UTF8_LABELS.includes(normalized)) {
        throw new RangeError(`The "${label}" encoding is not supported`);
      }
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() {
      return "utf-8";
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input) {
      const [buffer, offset, length] = viewOf(input);
      return native.decodeUtf8(buffer, offset, length, this.#fatal, this.#ignoreBOM);
    }
  }

  for (const [name, value] of [["TextEncoder", TextEncoder], ["TextDecoder", TextDecoder]]) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
});
