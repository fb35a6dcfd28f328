// @shopify/shopify_function 2.0.1's run.ts, as the Shopify CLI bundles it
// (types removed, nothing else changed). The package is on npm; it is
// copied here because Kiln resolves relative imports only.
export default function (userfunction) {
  try {
    ShopifyFunction;
  } catch (e) {
    throw new Error(
      "ShopifyFunction is not defined. Please rebuild your function using the latest version of Shopify CLI."
    );
  }

  const input_obj = ShopifyFunction.readInput();
  const output_obj = userfunction(input_obj);
  ShopifyFunction.writeOutput(output_obj);
}
