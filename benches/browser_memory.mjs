// How well the page's memory plan (src/memory.rs) predicts the worker's wasm memory (run by
// hand, never in CI): for each setting, a fresh CPU page loads the zip, shows its plan, trains
// a few steps, and the plan is compared with the wasm memory measured after them.
//
//   cargo bench --bench ingest -- --count 2000 --side 96 --save /tmp/jpegs2k.zip
//   bash scripts/build-web.sh
//   node benches/browser_memory.mjs /tmp/jpegs2k.zip
//
// Prints a Markdown table for BENCHMARKS.md. The plan's activation term is calibrated from
// the "network" columns: measured = memory after the steps − memory when training started.
import { openApp } from "../tests/e2e/harness.mjs";

const zip = process.argv[2];
const settings = [
  { imageSize: 32, batchSize: 32, depth: 11 },
  { imageSize: 64, batchSize: 32, depth: 11 },
  { imageSize: 64, batchSize: 64, depth: 11 },
  { imageSize: 96, batchSize: 16, depth: 20 },
];
const STEPS = 4;
const mib = (n) => (n / 2 ** 20).toFixed(0);

console.log("| size, batch, depth | plan: network / total | measured: network / total | network measured ÷ planned |");
console.log("|---|---|---|---|");
for (const s of settings) {
  const app = await openApp({ webgpu: false });
  const { page } = app;
  await page.setInputFiles("#dataset-file", zip);
  await page.waitForSelector("#summary:not([hidden])");
  await page.fill("#opt-image-size", String(s.imageSize));
  await page.fill("#opt-batch-size", String(s.batchSize));
  await page.selectOption("#opt-depth", String(s.depth));
  await page.fill("#opt-epochs", "1");
  await page.waitForFunction((size) => document.querySelector("#memory-plan").textContent.includes(`at ${size} px`), s.imageSize);
  const planNetwork = Number(await page.getAttribute("#memory-plan", "data-network-bytes"));
  const planTotal = Number(await page.getAttribute("#memory-plan", "data-total-bytes"));
  await page.click("#train");
  await page.waitForSelector("#train-status[data-state=running]", { timeout: 600_000 });
  const started = Number(await page.getAttribute("#train-status", "data-wasm-memory"));
  await page.waitForFunction((n) =>
    Number(document.querySelector("#train-status").textContent.match(/step (\d+)\//)?.[1] ?? 0) >= n,
  STEPS, { timeout: 900_000 });
  const after = Number(await page.getAttribute("#train-status", "data-wasm-memory"));
  await page.click("#stop");
  await page.waitForSelector("#train-status[data-state=stopped], #train-status[data-state=done]", { timeout: 900_000 });
  console.log(`| ${s.imageSize} px, ${s.batchSize}, Small-${s.depth} | ${mib(planNetwork)} / ${mib(planTotal)} MiB ` +
    `| ${mib(after - started)} / ${mib(after)} MiB | ${((after - started) / planNetwork).toFixed(2)} |`);
  if (app.problems.length) console.log("problems:", app.problems);
  await app.close();
}
