// Browser benchmark (run by hand, never in CI): wasm size, page load to ready, and training
// throughput on the bundled sample at 32 px, on WebGPU and on the CPU fallback.
//
//   bash scripts/build-web.sh && node benches/browser.mjs [--epochs N] [--batch N]
//
// Prints a Markdown table to paste into BENCHMARKS.md.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { backendOf, openApp, ROOT } from "../tests/e2e/harness.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const epochs = arg("epochs", 3);
const batch = arg("batch", 16);

const wasm = readFileSync(join(ROOT, "www/pkg/tagtrain_bg.wasm"));
const mb = (n) => (n / 1024 / 1024).toFixed(1);
console.log(`| wasm module (after wasm-opt if installed) | ${mb(wasm.length)} MiB raw, ${mb(gzipSync(wasm, { level: 9 }).length)} MiB gzip -9 |`);

for (const webgpu of [true, false]) {
  const app = await openApp({ webgpu });
  const { page } = app;
  const backend = await backendOf(page);
  const ready = Number(await page.getAttribute("body", "data-ready-ms"));
  await page.click("#try-sample");
  await page.waitForSelector("#summary:not([hidden])");
  await page.fill("#opt-image-size", "32");
  await page.fill("#opt-epochs", String(epochs));
  await page.fill("#opt-batch-size", String(batch));
  await page.click("#train");
  await page.waitForSelector("#train-status[data-state=done]", { timeout: 60 * 60_000 });
  // Training images/s averaged over the whole run as the page shows it (validation passes included).
  const text = await page.textContent("#train-status");
  const perSec = await page.getAttribute("#train-status", "data-images-per-sec");
  console.log(`| ${backend}: page load (navigation start) to backend ready | ${(ready / 1000).toFixed(2)} s |`);
  console.log(`| ${backend}: training, sample 32 px, Small-11, batch ${batch}, ${epochs} epochs | ${perSec} images/s |`);
  if (app.problems.length) console.log("problems:", app.problems, text);
  await app.close();
}
