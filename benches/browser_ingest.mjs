// Browser ingestion benchmark (run by hand, never in CI): decode + resize throughput and wasm
// memory in the page's worker, on a dataset zip.
//
//   cargo bench --bench ingest -- --save /tmp/jpegs10k.zip      # 10,000 generated 96×96 JPEGs
//   bash scripts/build-web.sh
//   node benches/browser_ingest.mjs A2_emoji_tags_train.zip 64 [--cpu]
//   node benches/browser_ingest.mjs /tmp/jpegs10k.zip 96 [--cpu]
//   node scripts/make-sounds.mjs /tmp/sounds                    # 240 + 80 synthesised clips
//   node benches/browser_ingest.mjs /tmp/sounds/sounds_train.zip 64 --cpu
//
// For sound clips, opening decodes every clip whole (to check it), and Train decodes again,
// resamples and draws each clip's log-mel spectrogram: the page's clips/s of issue #33, to set
// beside `cargo bench --bench audio` (BENCHMARKS.md, "Sound").
//
// Decoding happens when Train is pressed (the images are decoded at the chosen size); the page
// records the time from the click to the first training step and the wasm memory size then.
import { statSync } from "node:fs";
import { backendOf, openApp } from "../tests/e2e/harness.mjs";

const [zip, size = "64"] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const webgpu = !process.argv.includes("--cpu");
const app = await openApp({ webgpu });
const { page } = app;
const backend = await backendOf(page);
let t = Date.now();
await page.setInputFiles("#dataset-file", zip);
await page.waitForSelector("#summary:not([hidden])", { timeout: 600_000 });
const openSeconds = (Date.now() - t) / 1000;
const [, count, items] = (await page.textContent("#summary-text")).match(/(\d+) (images|clips)/);
const images = Number(count);
await page.fill("#opt-image-size", size);
await page.fill("#opt-epochs", "1");
await page.click("#train");
await page.waitForSelector("#train-status[data-state=running]", { timeout: 1_800_000 });
const decodeMs = Number(await page.getAttribute("#train-status", "data-decode-ms"));
const memory = Number(await page.getAttribute("#train-status", "data-wasm-memory"));
await page.click("#stop");
await page.waitForSelector("#train-status[data-state=stopped], #train-status[data-state=done]", { timeout: 1_800_000 });
const mib = (n) => (n / 2 ** 20).toFixed(0);
console.log(`| browser (${backend} page), ${zip.split("/").pop()} (${mib(statSync(zip).size)} MiB), ${images} ${items} at ${size} px ` +
  `| open+check ${openSeconds.toFixed(1)} s; decode+${items === "clips" ? "spectrogram" : "resize"} ` +
  `${(decodeMs / 1000).toFixed(1)} s = ${(images / (decodeMs / 1000)).toFixed(0)} ${items}/s ` +
  `| wasm memory ${mib(memory)} MiB |`);
if (app.problems.length) console.log("problems:", app.problems);
await app.close();
