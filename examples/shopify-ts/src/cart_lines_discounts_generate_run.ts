import Decimal from 'decimal.js';

import {
  CartInput,
  CartLinesDiscountsGenerateRunResult,
  CartOperation,
  DiscountClass,
  OrderDiscountSelectionStrategy,
  ProductDiscountSelectionStrategy,
} from '../generated/api';

/** Percentages off, by discount class. */
const ORDER_PERCENT = 10;
const PRODUCT_PERCENT = 20;

/**
 * 10% off the order and 20% off its most expensive line, as Shopify's
 * discount-function template does, with the saving of each computed in
 * exact decimal arithmetic (Shopify's `Decimal` scalar is a string).
 */
export function cartLinesDiscountsGenerateRun(input: CartInput): CartLinesDiscountsGenerateRunResult {
  if (!input.cart.lines.length) {
    throw new Error('No cart lines found');
  }

  const hasOrderDiscountClass = input.discount.discountClasses.includes(DiscountClass.Order);
  const hasProductDiscountClass = input.discount.discountClasses.includes(DiscountClass.Product);

  if (!hasOrderDiscountClass && !hasProductDiscountClass) {
    return { operations: [] };
  }

  const amount = (line: CartInput['cart']['lines'][number]) => new Decimal(line.cost.subtotalAmount.amount);
  const maxCartLine = input.cart.lines.reduce((maxLine, line) => (amount(line).greaterThan(amount(maxLine)) ? line : maxLine));
  const currency = input.cart.cost.subtotalAmount.currencyCode;

  const operations: CartOperation[] = [];

  if (hasOrderDiscountClass) {
    const saving = new Decimal(input.cart.cost.subtotalAmount.amount).times(ORDER_PERCENT).dividedBy(100);
    operations.push({
      orderDiscountsAdd: {
        candidates: [
          {
            message: `${ORDER_PERCENT}% OFF ORDER (save ${saving.toFixed(2)} ${currency})`,
            targets: [{ orderSubtotal: { excludedCartLineIds: [] } }],
            value: { percentage: { value: ORDER_PERCENT } },
          },
        ],
        selectionStrategy: OrderDiscountSelectionStrategy.First,
      },
    });
  }

  if (hasProductDiscountClass) {
    const saving = amount(maxCartLine).times(PRODUCT_PERCENT).dividedBy(100);
    operations.push({
      productDiscountsAdd: {
        candidates: [
          {
            message: `${PRODUCT_PERCENT}% OFF PRODUCT (save ${saving.toFixed(2)} ${currency})`,
            targets: [{ cartLine: { id: maxCartLine.id } }],
            value: { percentage: { value: PRODUCT_PERCENT } },
          },
        ],
        selectionStrategy: ProductDiscountSelectionStrategy.First,
      },
    });
  }

  return { operations };
}
