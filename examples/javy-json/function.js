// A Shopify-style function written for Javy: JSON in on stdin, JSON out on
// stdout through Javy.JSON (Javy's `javy-json` helpers). Kiln runs it
// unchanged.
const input = Javy.JSON.fromStdin();

const discounts = input.cart.lines
  .filter((line) => line.quantity >= 2)
  .map((line) => ({
    targets: [{ cartLine: { id: line.id } }],
    value: { percentage: { value: line.quantity >= 5 ? 15 : 10 } },
    message: `${line.quantity} x ${line.merchandise.title}`,
  }));

Javy.JSON.toStdout({ discounts, discountApplicationStrategy: "FIRST" });
