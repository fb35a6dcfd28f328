import { CURRENCY } from "./rates.js";

export function money(amount) {
  return `${amount.toFixed(2)} ${CURRENCY}`;
}
