// Function mode: the same work, with Kiln doing the I/O.
export function run(input) {
  return input;
}
