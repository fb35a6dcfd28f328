// TextEncoder and TextDecoder.
const enc = new TextEncoder();
console.log(enc.encoding, enc.encode("héllo €😀"), enc.encode());
const target = new Uint8Array(5);
console.log(enc.encodeInto("a€b", target), target);
console.log(enc.encodeInto("😀😀", new Uint8Array(6)));
const dec = new TextDecoder();
console.log(dec.encoding, dec.fatal, dec.ignoreBOM);
console.log(dec.decode(enc.encode("round trip ✓")), dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])));
console.log(JSON.stringify(new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68]))));
console.log(JSON.stringify(dec.decode(new Uint8Array([0x61, 0xff, 0x62, 0xc3]))));
try {
  new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xff]));
} catch (e) {
  console.log(e.name);
}
const euro = enc.encode("€uro");
const streaming = new TextDecoder();
let out = "";
for (const byte of euro) out += streaming.decode(new Uint8Array([byte]), { stream: true });
out += streaming.decode();
console.log(out);
console.log(new TextDecoder("utf-16le").decode(new Uint8Array([0x68, 0, 0x69, 0, 0x3d, 0xd8, 0x00, 0xde])));
// Bytes 0x80-0x9F are left out on purpose: the Encoding standard decodes
// them as windows-1252 (0x80 is "€"), Node decodes them as ISO-8859-1.
// Kiln follows the standard; js-runtime's tests check those bytes.
console.log(new TextDecoder("latin1").encoding, new TextDecoder("latin1").decode(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0xff])));
console.log(new TextDecoder("ascii").decode(new Uint8Array([0x41, 0x42, 0xa9])));
try {
  new TextDecoder("klingon");
} catch (e) {
  console.log(e.name);
}
console.log(dec.decode(new Uint8Array([104, 105]).buffer), dec.decode(new DataView(new Uint8Array([33]).buffer)));
