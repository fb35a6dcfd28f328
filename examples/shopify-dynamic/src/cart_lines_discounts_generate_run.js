// Target cart.lines.discounts.generate.run of Shopify's Discount API:
// 20% off each line of 2 or more items; 10% off the order for a signed-in
// buyer whose subtotal reaches the configured minimum.
const DEFAULT_CONFIG = { percentage: 20, minimumQuantity: 2, orderPercentage: 10, orderMinimum: 100 };

export function cartLinesDiscountsGenerateRun(input) {
  const lines = input.cart.lines;
  if (lines.length === 0) return { operations: [] };
  const config = { ...DEFAULT_CONFIG, ...JSON.parse(input.discount.metafield?.value ?? "{}") };
  const classes = input.discount.discountClasses;
  const operations = [];

  if (classes.includes("PRODUCT")) {
    const candidates = lines
      .filter((line) => line.quantity >= config.minimumQuantity)
      .map((line) => ({
        message: `${config.percentage}% off ${line.quantity} x ${line.merchandise.product.title}`,
        targets: [{ cartLine: { id: line.id } }],
        value: { percentage: { value: config.percentage } },
      }));
    if (candidates.length > 0) {
      operations.push({ productDiscountsAdd: { candidates, selectionStrategy: "ALL" } });
    }
  }

  const subtotal = Number(input.cart.cost.subtotalAmount.amount);
  if (classes.includes("ORDER") && input.cart.buyerIdentity?.isAuthenticated && subtotal >= config.orderMinimum) {
    operations.push({
      orderDiscountsAdd: {
        candidates: [
          {
            message: `${config.orderPercentage}% off orders over ${config.orderMinimum.toFixed(2)}`,
            targets: [{ orderSubtotal: { excludedCartLineIds: [] } }],
            value: { percentage: { value: config.orderPercentage } },
          },
        ],
        selectionStrategy: "FIRST",
      },
    });
  }
  return { operations };
}
