import { PRICES, VAT } from "./rates.js";
import { discountFor } from "./discounts.js";

export function unitPrice(sku) {
  const price = PRICES[sku];
  if (price === undefined) throw new Error(`unknown sku ${sku}`);
  return price;
}

export function lineTotal(line) {
  return unitPrice(line.sku) * line.quantity * (1 - discountFor(line));
}

export function orderTotal(order) {
  const net = order.lines.reduce((sum, line) => sum + lineTotal(line), 0);
  return net * (1 + VAT);
}
