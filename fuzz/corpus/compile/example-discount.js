// A Shopify-style product discount function, written against Javy.IO as
// Shopify's JavaScript functions are: cart JSON on stdin, the discount
// operations as JSON on stdout.
//
// Rule: lines of products tagged "sale" get the configured percentage off,
// once a line's quantity reaches the configured minimum; VIP customers get
// an extra 5 points.

const EMPTY = { discountApplicationStrategy: "FIRST", discounts: [] };

function readInput() {
  const chunks = [];
  let size = 0;
  const buffer = new Uint8Array(1024);
  for (;;) {
    const n = Javy.IO.readSync(0, buffer);
    if (n === 0) break;
    chunks.push(buffer.slice(0, n));
    size += n;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

function writeOutput(value) {
  Javy.IO.writeSync(1, new TextEncoder().encode(JSON.stringify(value) + "\n"));
}

function run(input) {
  const config = JSON.parse(input.discountNode?.metafield?.value ?? "{}");
  const percentage = Number(config.percentage ?? 0);
  const minimumQuantity = Number(config.minimumQuantity ?? 1);
  if (!(percentage > 0)) return EMPTY;

  const vip = Boolean(input.cart.buyerIdentity?.customer?.hasVipTag);
  const targets = input.cart.lines
    .filter((line) => line.merchandise.__typename === "ProductVariant")
    .filter((line) => line.merchandise.product.hasSaleTag && line.quantity >= minimumQuantity)
    .map((line) => ({ cartLine: { id: line.id } }));
  if (targets.length === 0) return EMPTY;

  const value = Math.min(percentage + (vip ? 5 : 0), 100);
  return {
    discountApplicationStrategy: "FIRST",
    discounts: [
      {
        targets,
        value: { percentage: { value: value.toFixed(1) } },
        message: vip ? `${value}% off sale items (VIP)` : `${value}% off sale items`,
      },
    ],
  };
}

writeOutput(run(readInput()));
