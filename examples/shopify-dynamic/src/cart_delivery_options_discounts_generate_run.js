// Target cart.delivery-options.discounts.generate.run: free shipping on
// the first delivery group once the subtotal reaches 150.
export function cartDeliveryOptionsDiscountsGenerateRun(input) {
  const group = input.cart.deliveryGroups[0];
  const subtotal = Number(input.cart.cost.subtotalAmount.amount);
  if (!group || !input.discount.discountClasses.includes("SHIPPING") || subtotal < 150) {
    return { operations: [] };
  }
  return {
    operations: [
      {
        deliveryDiscountsAdd: {
          candidates: [
            {
              message: "Free shipping over 150.00",
              targets: [{ deliveryGroup: { id: group.id } }],
              value: { percentage: { value: 100 } },
            },
          ],
          selectionStrategy: "ALL",
        },
      },
    ],
  };
}
