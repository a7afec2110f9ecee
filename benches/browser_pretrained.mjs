// A pretrained start in the page, run by hand, never in CI (issue #37): for each way of
// training (the head alone on features computed once, the top too, every layer) a fresh page
// loads DATA.zip, starts from the ImageNet weights and trains to the end. Prints a Markdown row
// a way: wall seconds from Train to done, the page's images/s (optimisation steps only), the
// wasm memory at the end, the validation mAP. The CPU page by default; `--webgpu` the WebGPU
// page (SwiftShader here).
//
//   bash scripts/build-web.sh
//   node benches/browser_pretrained.mjs DATA.zip [--webgpu] [--size 64] [--batch 16] [--epochs 2] [--layers head,top,all]
import { openApp } from "../tests/e2e/harness.mjs";

const zip = process.argv[2];
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const size = Number(arg("size", 64));
const batch = Number(arg("batch", 16));
const epochs = Number(arg("epochs", 2));
const webgpu = process.argv.includes("--webgpu");

console.log("| data | page | way | px | batch | epochs | seconds | images/s | wasm memory | validation mAP |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const layers of arg("layers", "head,top,all").split(",")) {
  const app = await openApp({ webgpu });
  const { page } = app;
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  await page.setInputFiles("#dataset-file", zip);
  await page.waitForSelector("#summary:not([hidden])", { timeout: 600_000 });
  await page.selectOption("#opt-start", "pretrained");
  await page.selectOption("#opt-train-layers", layers);
  await page.fill("#opt-image-size", String(size));
  await page.fill("#opt-batch-size", String(batch));
  await page.fill("#opt-epochs", String(epochs));
  if (!(await page.isVisible("#opt-patience"))) await page.click(".advanced summary");
  await page.fill("#opt-patience", "0");
  const device = await page.getAttribute("#backend", "data-kind");
  const started = Date.now();
  await page.click("#train");
  await page.waitForSelector("#train-status[data-state=done]", { timeout: 3_600_000 });
  const seconds = (Date.now() - started) / 1000;
  const status = await page.$eval("#train-status", (s) => ({ ...s.dataset }));
  const map = await page.$$eval("#epoch-history tbody tr", (rows) => rows.at(-1)?.dataset.map);
  const memory = `${(Number(status.wasmMemory) / 2 ** 20).toFixed(0)} MiB`;
  console.log(`| ${zip.split("/").pop()} | ${webgpu ? "WebGPU" : "CPU"} (${device}) | ${layers} | ${size} | ${batch} | ${epochs} | ` +
    `${seconds.toFixed(0)} | ${status.imagesPerSec} | ${memory} | ${Number(map).toFixed(3)} |`);
  if (app.problems.length) console.log("problems:", app.problems);
  await app.close();
}
