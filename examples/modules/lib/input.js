// The order on stdin, as JSON: through Kiln's API when compiled by Kiln,
// through node:fs when the same program runs on Node.
export async function readOrder() {
  if (typeof Kiln !== "undefined") return Kiln.stdin.json();
  const { readFileSync } = await import("node:fs");
  return JSON.parse(readFileSync(0, "utf8"));
}
