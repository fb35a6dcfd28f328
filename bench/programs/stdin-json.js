// Kiln.stdin.json() on a large document: the whole-stream reader and JSON.parse.
const doc = Kiln.stdin.json();
console.log(doc.orders.length);
