// Training throughput of the page, run by hand, never in CI: a fresh page loads a dataset zip,
// trains at the given size and batch, and the page's own images/s (optimisation steps only,
// averaged since the first step) is read after a number of steps. The CPU page (burn-flex
// compiled to wasm, a browser without WebGPU) by default; `--webgpu` runs the WebGPU page
// (SwiftShader here: a software GPU). Compare builds with the same arguments.
//
//   bash scripts/build-web.sh
//   node benches/browser_train_speed.mjs DATA.zip [--webgpu] [--size 32] [--batch 64] [--steps 12] [--depth 11] [--epochs 1]
//
// Prints one Markdown table row for BENCHMARKS.md.
import { openApp } from "../tests/e2e/harness.mjs";

const zip = process.argv[2];
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const size = arg("size", 32);
const batch = arg("batch", 64);
const steps = arg("steps", 12);
const depth = arg("depth", 11);
const epochs = arg("epochs", 1);
const webgpu = process.argv.includes("--webgpu");

const app = await openApp({ webgpu });
const { page } = app;
await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
await page.setInputFiles("#dataset-file", zip);
await page.waitForSelector("#summary:not([hidden])", { timeout: 600_000 });
await page.fill("#opt-image-size", String(size));
await page.selectOption("#opt-depth", String(depth));
await page.fill("#opt-batch-size", String(batch));
await page.fill("#opt-epochs", String(epochs));
const device = await page.getAttribute("#backend", "data-kind");
await page.click("#train");
await page.waitForFunction((n) =>
  Number(document.querySelector("#train-status").textContent.match(/step (\d+)\//)?.[1] ?? 0) >= n,
steps, { timeout: 3_600_000 });
const imagesPerSec = await page.getAttribute("#train-status", "data-images-per-sec");
await page.click("#stop");
await page.waitForSelector("#train-status[data-state=stopped], #train-status[data-state=done]", { timeout: 3_600_000 });
console.log(`| ${zip.split("/").pop()} | ${webgpu ? "WebGPU page" : "CPU page"} (${device}) | ${size} px | Small-${depth} | batch ${batch} | ${steps} steps | ${imagesPerSec} images/s |`);
if (app.problems.length) console.log("problems:", app.problems);
await app.close();
