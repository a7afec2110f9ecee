// A generated dataset of 5,000 images in the CPU page: the memory plan shown before anything
// is decoded, a run too large for a tab refused in words (the page stays usable), and a real
// run whose wasm memory, read after every step, stays within the plan the page showed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backendOf, openApp, pngOf, zipOf } from "./harness.mjs";

const IMAGES = 5_000;
const SIDE = 32;

/** 5,000 noisy 32×32 PNGs; label `red` when the image is mostly red, `blue` likewise. */
function generatedZip() {
  const files = {};
  let csv = "image,red,blue\n";
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < IMAGES; i++) {
    const red = i % 2 === 0;
    const blue = i % 3 === 0;
    const rgb = Buffer.alloc(SIDE * SIDE * 3);
    for (let p = 0; p < SIDE * SIDE; p++) {
      rgb[3 * p] = (red ? 160 : 40) + (random() >> 2);
      rgb[3 * p + 1] = random() >> 1;
      rgb[3 * p + 2] = (blue ? 160 : 40) + (random() >> 2);
    }
    const name = `img/${String(i).padStart(5, "0")}.png`;
    files[name] = pngOf(SIDE, SIDE, rgb);
    csv += `${name},${Number(red)},${Number(blue)}\n`;
  }
  files["index.csv"] = csv;
  return zipOf(files);
}

test("5,000 images: the plan before decoding, a refusal in words, and memory within the plan",
  { timeout: 20 * 60_000 }, async () => {
    const zip = generatedZip();
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "cpu");
      await page.setInputFiles("#dataset-file", { name: "generated5k.zip", mimeType: "application/zip", buffer: zip });
      await page.waitForSelector("#summary:not([hidden])");
      assert.match(await page.textContent("#summary-text"), /generated5k\.zip: 5000 images, 2 labels/);

      // Too large for any tab: said before decoding, with what would fit, and refused at Train.
      await page.fill("#opt-image-size", "512");
      await page.waitForSelector("#memory-plan[data-verdict=too-large]");
      const refusal = await page.textContent("#memory-plan");
      assert.match(refusal, /^This will not fit in a browser tab: at 512 px the 5000 images need about .* GiB/);
      assert.match(refusal, /Choose an image size of \d+ px or less/);
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=failed]");
      assert.equal((await page.textContent("#error-message")).trim(), refusal.trim());
      await page.click("#error-close");

      // A run that fits: the plan, then the run within it.
      await page.fill("#opt-image-size", "16");
      await page.fill("#opt-epochs", "1");
      await page.fill("#opt-batch-size", "64");
      await page.waitForSelector("#memory-plan[data-verdict=fits]");
      assert.match(await page.textContent("#memory-plan"), /^Training at 16 px needs about \d+ MiB of this tab's memory/);
      const planned = Number(await page.getAttribute("#memory-plan", "data-total-bytes"));
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=done]", { timeout: 15 * 60_000 });
      // The memory after the last step; wasm memory only grows, so this is the run's peak.
      const peak = Number(await page.getAttribute("#train-status", "data-wasm-memory"));
      const pixels = IMAGES * 16 * 16 * 3;
      assert.ok(peak > pixels, `the decoded images are in wasm memory: ${peak}`);
      // The plan is the bound stated in README.md: pixels + max(zip, network) + the module.
      assert.ok(peak <= planned, `peak wasm memory ${peak} B is within the plan's ${planned} B`);
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
