// Function mode: summarise a large order document per customer.
export function run(input) {
  const totals = new Map();
  for (const order of input.orders) {
    let sum = 0;
    for (const line of order.lines) sum += line.qty * line.price;
    totals.set(order.customer, (totals.get(order.customer) ?? 0) + sum);
  }
  return [...totals].map(([customer, total]) => ({ customer, total: Math.round(total * 100) / 100 })).sort((a, b) => b.total - a.total).slice(0, 10);
}
