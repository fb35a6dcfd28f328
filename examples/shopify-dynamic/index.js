// The entry the Shopify CLI generates for a JavaScript function with two
// targets: each target is an export that hands the user's function to
// @shopify/shopify_function's `run`, which reads the input with
// `ShopifyFunction.readInput()` and writes the result with
// `ShopifyFunction.writeOutput()`. Build (see README.md):
//
//   kiln build --dynamic index.js -o function.wasm \
//     --invoke cartLinesDiscountsGenerateRun=cart-lines-discounts-generate-run \
//     --invoke cartDeliveryOptionsDiscountsGenerateRun=cart-delivery-options-discounts-generate-run
import __runFunction from "./shopify_function/run.js";
import { cartLinesDiscountsGenerateRun as __cartLinesDiscountsGenerateRun } from "./src/cart_lines_discounts_generate_run.js";
import { cartDeliveryOptionsDiscountsGenerateRun as __cartDeliveryOptionsDiscountsGenerateRun } from "./src/cart_delivery_options_discounts_generate_run.js";

export function cartLinesDiscountsGenerateRun() {
  return __runFunction(__cartLinesDiscountsGenerateRun);
}

export function cartDeliveryOptionsDiscountsGenerateRun() {
  return __runFunction(__cartDeliveryOptionsDiscountsGenerateRun);
}
