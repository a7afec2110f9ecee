// Issue #9's large-dataset benchmark (run by hand, never in CI): a generated zip of 50,000
// 64×64 JPEGs loaded into the CPU page, summarised, decoded at 64 px and trained for one epoch,
// as a person would (pick the file, set the size, press Train), with the tab's wasm memory read
// after every step.
//
//   cargo bench --bench ingest -- --count 50000 --side 64 --save /tmp/jpegs50k.zip
//   bash scripts/build-web.sh
//   node benches/browser_50k.mjs /tmp/jpegs50k.zip [--size 64] [--webgpu] [--steps N]
//
// `--steps N` stops the run after N training steps (the memory peak of training is reached in
// its first steps; a whole epoch on the CPU page takes hours). Prints one Markdown table row
// per figure for BENCHMARKS.md.
import { statSync } from "node:fs";
import { backendOf, openApp } from "../tests/e2e/harness.mjs";

const args = process.argv.slice(2);
const zip = args.find((a) => !a.startsWith("--") && a.endsWith(".zip"));
const size = args.includes("--size") ? args[args.indexOf("--size") + 1] : "64";
const maxSteps = args.includes("--steps") ? Number(args[args.indexOf("--steps") + 1]) : Infinity;
const app = await openApp({ webgpu: args.includes("--webgpu") });
const { page } = app;
const backend = await backendOf(page);
const mib = (n) => (n / 2 ** 20).toFixed(0);
const memory = async () => Number(await page.getAttribute("#train-status", "data-wasm-memory"));

let t = Date.now();
await page.setInputFiles("#dataset-file", zip);
await page.waitForSelector("#summary:not([hidden])", { timeout: 600_000 });
const openSeconds = (Date.now() - t) / 1000;
const images = Number((await page.textContent("#summary-text")).replace(/,/g, "").match(/(\d+) images/)[1]);
const notice = await page.textContent("#memory-plan").catch(() => "");

await page.fill("#opt-image-size", size);
await page.fill("#opt-epochs", "1");
t = Date.now();
await page.click("#train");
await page.waitForSelector("#train-status[data-state=running]", { timeout: 1_800_000 });
const decodeSeconds = (Date.now() - t) / 1000;
const afterDecode = await memory();
let peak = afterDecode;
t = Date.now();
let lastReport = 0;
for (;;) {
  const state = await page.getAttribute("#train-status", "data-state");
  peak = Math.max(peak, await memory());
  if (Date.now() - lastReport > 60_000) {
    lastReport = Date.now();
    console.error(`${((Date.now() - t) / 60_000).toFixed(1)} min: ${await page.textContent("#train-status")}`);
  }
  if (state !== "running") break;
  const step = Number((await page.textContent("#train-status")).match(/step (\d+)\//)?.[1] ?? 0);
  if (step >= maxSteps) {
    await page.click("#stop");
    await page.waitForSelector("#train-status:not([data-state=running])", { timeout: 600_000 });
    peak = Math.max(peak, await memory());
    break;
  }
  await new Promise((r) => setTimeout(r, 2_000));
}
const epochSeconds = (Date.now() - t) / 1000;
const finalState = await page.getAttribute("#train-status", "data-state");
const perSec = await page.getAttribute("#train-status", "data-images-per-sec");
const modelShown = (await page.getAttribute("#download", "aria-disabled")) !== "true";

console.log(`| zip | ${zip.split("/").pop()}: ${images.toLocaleString("en")} images, ${mib(statSync(zip).size)} MiB |`);
if (notice) console.log(`| page's memory plan | ${notice.trim()} |`);
console.log(`| open + check + summary (${backend} page) | ${openSeconds.toFixed(1)} s |`);
console.log(`| decode + resize at ${size} px + network set-up | ${decodeSeconds.toFixed(1)} s; wasm memory then ${mib(afterDecode)} MiB |`);
const what = Number.isFinite(maxSteps) ? `${maxSteps} training steps` : "one epoch (training + validation)";
console.log(`| ${what} | ${(epochSeconds / 60).toFixed(1)} min, ${perSec} images/s; run ended "${finalState}" |`);
console.log(`| peak wasm memory | ${mib(peak)} MiB |`);
console.log(`| model shown after the run | ${modelShown} |`);
if (app.problems.length) console.log("problems:", app.problems);
await app.close();
