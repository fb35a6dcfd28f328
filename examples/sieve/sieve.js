// CPU-bound: count the primes below N (read from stdin) with a sieve of
// Eratosthenes, and print the count and the largest.

const decoder = new TextDecoder();
const buffer = new Uint8Array(64);
const n = Javy.IO.readSync(0, buffer);
const limit = parseInt(decoder.decode(buffer.subarray(0, n)), 10);
if (!(limit > 2)) throw new RangeError(`expected a limit above 2 on stdin, got ${JSON.stringify(decoder.decode(buffer.subarray(0, n)))}`);

const composite = new Uint8Array(limit);
let count = 0;
let largest = 0;
for (let i = 2; i < limit; i++) {
  if (composite[i]) continue;
  count++;
  largest = i;
  for (let j = i * i; j < limit; j += i) composite[j] = 1;
}
console.log(`primes below ${limit}: ${count} (largest ${largest})`);
