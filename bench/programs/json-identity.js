// Script mode: read all of stdin, parse, write it back as JSON.
const chunks = [];
const buf = new Uint8Array(65536);
let n;
while ((n = Javy.IO.readSync(0, buf)) > 0) chunks.push(buf.slice(0, n));
let size = 0;
for (const c of chunks) size += c.length;
const all = new Uint8Array(size);
let at = 0;
for (const c of chunks) { all.set(c, at); at += c.length; }
Javy.IO.writeSync(1, new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(all)))));
