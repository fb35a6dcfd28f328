// A program split over several files. Kiln resolves the relative imports at
// build time and compiles every file into the one module: a diamond
// (pricing.js and format.js both import rates.js), a cycle (pricing.js and
// discounts.js import each other) and a dynamic import().
import { readOrder } from "./lib/input.js";
import { lineTotal, orderTotal } from "./lib/pricing.js";
import { money } from "./lib/format.js";

const order = await readOrder();
for (const line of order.lines) {
  console.log(`${line.sku.padEnd(10)} ${String(line.quantity).padStart(3)} x ${money(lineTotal(line))}`);
}
console.log(`${"total".padEnd(16)} ${money(orderTotal(order))}`);

const { receipt } = await import("./lib/receipt.js");
console.log(receipt(order));
