#!/usr/bin/env node
// Runs a module in headless Chromium through this page, as a person would:
// stdin typed into the page, Run clicked, stdout and stderr read back from
// the page. Prints them on this process's stdout and stderr and exits with
// the module's status, so a test can compare it with any other host.
//
//   node run-chromium.mjs app.wasm < input.json
//
// Needs `npm ci` here (the shim and playwright-core, which drives the
// browser and downloads none) and Debian's `chromium` (scripts/setup.sh
// installs both). CHROMIUM=/path overrides the browser.

import { readFileSync, writeSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";

const [module] = process.argv.slice(2);
if (!module) {
  console.error("usage: node run-chromium.mjs MODULE.wasm < stdin");
  process.exit(2);
}
const stdin = readFileSync(0, "utf8");
const { server, url } = await serve([module], 0);
const profile = mkdtempSync(join(tmpdir(), "kiln-chromium-"));
let status = 134;
let browser;
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on("pageerror", (error) => writeSync(2, `error: the page failed: ${error.message}\n`));
  await page.goto(`${url}?module=${encodeURIComponent(basename(module))}`);
  await page.waitForSelector("#run:not([disabled])", { timeout: 60_000 });
  await page.fill("#stdin", stdin);
  await page.click("#run");
  await page.waitForSelector("#status[data-status]", { timeout: 120_000 });
  const shown = await page.evaluate(() => ({
    status: Number(document.getElementById("status").dataset.status),
    stdout: document.getElementById("stdout").textContent,
    stderr: document.getElementById("stderr").textContent,
  }));
  writeSync(1, shown.stdout);
  writeSync(2, shown.stderr);
  status = shown.status;
} catch (error) {
  writeSync(2, `error: running ${module} in Chromium: ${error.message}\n`);
} finally {
  await browser?.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
