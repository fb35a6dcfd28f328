// TextEncoder and TextDecoder. UTF-8 bytes are converted natively; these
// classes check arguments, keep streaming state and give the WHATWG shape.
// Decoders: utf-8, utf-16le, windows-1252 (also reached by the labels
// latin1, iso-8859-1, ascii, us-ascii, as the Encoding standard says).
(function (native) {
  "use strict";

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return native.encodeUtf8(String(input));
    }
    encodeInto(source, destination) {
      if (!(destination instanceof Uint8Array)) throw new TypeError('The "dest" argument must be an instance of Uint8Array.');
      const s = String(source);
      let read = 0;
      let written = 0;
      for (const ch of s) {
        const bytes = native.encodeUtf8(ch);
        if (written + bytes.length > destination.length) break;
        destination.set(bytes, written);
        written += bytes.length;
        read += ch.length;
      }
      return { read, written };
    }
  }

  function bytesOf(input) {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView.');
  }

  const LABELS = new Map();
  for (const l of ["utf-8", "utf8", "unicode-1-1-utf-8"]) LABELS.set(l, "utf-8");
  for (const l of ["utf-16le", "utf-16", "ucs-2", "unicode", "csunicode", "iso-10646-ucs-2", "unicodefeff"]) LABELS.set(l, "utf-16le");
  for (const l of ["windows-1252", "latin1", "iso-8859-1", "ascii", "us-ascii", "cp1252", "iso8859-1", "iso_8859-1", "l1", "x-cp1252", "ansi_x3.4-1968", "cp819", "csisolatin1", "ibm819", "iso-ir-100"]) LABELS.set(l, "windows-1252");

  // windows-1252 differs from latin1 in 0x80-0x9F.
  const CP1252 = [0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178];

  // Length of the incomplete UTF-8 sequence at the end of `b` (0 if none).
  function incompleteUtf8Tail(b) {
    for (let back = 1; back <= Math.min(3, b.length); back++) {
      const byte = b[b.length - back];
      if ((byte & 0xc0) === 0x80) continue; // continuation byte
      const need = byte >= 0xf0 && byte <= 0xf4 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc2 ? 2 : 1;
      return need > back ? back : 0;
    }
    return 0;
  }

  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    #pending = new Uint8Array(0);
    #bomSeen = false;
    constructor(label = "utf-8", options = {}) {
      const encoding = LABELS.get(String(label).trim().toLowerCase());
      if (encoding === undefined) throw new RangeError(`The "${label}" encoding is not supported`);
      this.#encoding = encoding;
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() {
      return this.#encoding;
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input, options = {}) {
      const stream = Boolean(options && options.stream);
      let bytes = bytesOf(input);
      if (this.#pending.length) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = new Uint8Array(0);
      }
      if (stream) {
        const keep = this.#encoding === "utf-8" ? incompleteUtf8Tail(bytes) : this.#encoding === "utf-16le" ? bytes.length % 2 : 0;
        if (keep) {
          this.#pending = bytes.slice(bytes.length - keep);
          bytes = bytes.subarray(0, bytes.length - keep);
        }
      }
      // A BOM is dropped only at the start of a stream.
      const atStart = !this.#bomSeen;
      this.#bomSeen = stream && (this.#bomSeen || bytes.length > 0);
      let text = this.#decodeBytes(bytes, atStart && !this.#ignoreBOM);
      if (!stream) this.#bomSeen = false;
      return text;
    }
    #decodeBytes(bytes, dropBOM) {
      switch (this.#encoding) {
        case "utf-8":
          return native.decodeUtf8(bytes.buffer, bytes.byteOffset, bytes.byteLength, this.#fatal, !dropBOM);
        case "utf-16le": {
          if (this.#fatal && bytes.length % 2) throw new TypeError("The encoded data was not valid for encoding utf-16le");
          let out = "";
          let start = 0;
          if (dropBOM && bytes[0] === 0xff && bytes[1] === 0xfe) start = 2;
          for (let i = start; i + 1 < bytes.length; i += 2) out += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
          if (bytes.length % 2) out += "\ufffd";
          return out.toWellFormed ? out.toWellFormed() : out;
        }
        default: {
          let out = "";
          for (const b of bytes) out += String.fromCharCode(b >= 0x80 && b <= 0x9f ? CP1252[b - 0x80] : b);
          return out;
        }
      }
    }
  }

  for (const [name, value] of [["TextEncoder", TextEncoder], ["TextDecoder", TextDecoder]]) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
});
