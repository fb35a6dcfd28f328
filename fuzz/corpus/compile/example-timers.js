// Timers run on a virtual clock: a retry loop with exponential backoff
// finishes at once, in the same order as in Node, and deterministically.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function fetchWithRetry(attempts) {
  for (let attempt = 1; ; attempt++) {
    const ok = attempt === attempts;
    console.log(`attempt ${attempt}: ${ok ? "ok" : "failed, backing off " + 100 * 2 ** attempt + " ms"}`);
    if (ok) return `done after ${attempt} attempts`;
    await sleep(100 * 2 ** attempt);
  }
}

let ticks = 0;
const heartbeat = setInterval(() => console.log(`heartbeat ${++ticks}`), 250);
fetchWithRetry(4).then((result) => {
  clearInterval(heartbeat);
  console.log(result);
});
