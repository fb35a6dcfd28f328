import { money } from "./format.js";
import { orderTotal } from "./pricing.js";

export function receipt(order) {
  return `receipt for ${order.customer}: ${order.lines.length} lines, ${money(orderTotal(order))}`;
}
