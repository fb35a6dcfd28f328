// Imports pricing.js, which imports this file: a cycle that links, since
// neither uses the other's bindings before both have run.
import { unitPrice } from "./pricing.js";

export function discountFor(line) {
  // 10% off lines worth 20 or more before discount.
  return unitPrice(line.sku) * line.quantity >= 20 ? 0.1 : 0;
}
