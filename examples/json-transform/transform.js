// Reads an order document on stdin and writes a per-customer summary.
// A classic script: reads stdin with Javy.IO, decodes with TextDecoder.

function readStdin() {
  const chunks = [];
  let total = 0;
  for (;;) {
    const buffer = new Uint8Array(4096);
    const n = Javy.IO.readSync(0, buffer);
    if (n === 0) break;
    chunks.push(buffer.subarray(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all);
}

const input = JSON.parse(readStdin());
const byCustomer = new Map();
for (const order of input.orders) {
  const entry = byCustomer.get(order.customer) ?? { customer: order.customer, orders: 0, total: 0, items: [] };
  entry.orders += 1;
  entry.total += order.lines.reduce((sum, line) => sum + line.qty * line.price, 0);
  for (const line of order.lines) if (!entry.items.includes(line.sku)) entry.items.push(line.sku);
  byCustomer.set(order.customer, entry);
}
const customers = [...byCustomer.values()]
  .map((c) => ({ ...c, total: Math.round(c.total * 100) / 100, items: c.items.sort() }))
  .sort((a, b) => b.total - a.total || a.customer.localeCompare(b.customer));
const output = { currency: input.currency, customers, grandTotal: customers.reduce((s, c) => Math.round((s + c.total) * 100) / 100, 0) };
console.log(JSON.stringify(output, null, 2));
