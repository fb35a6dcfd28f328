// The discount function of examples/discount, in function mode:
//
//   kiln build discount.mjs --invoke run -o discount.wasm
//
// Everything outside `run` is evaluated once, at build time, and lives in
// the module's snapshot; each invocation only parses the cart, calls `run`
// and writes its result. No stdin/stdout code is needed.

const EMPTY = Object.freeze({ discountApplicationStrategy: "FIRST", discounts: [] });
const VIP_BONUS = 5;

export function run(input) {
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

  const value = Math.min(percentage + (vip ? VIP_BONUS : 0), 100);
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
