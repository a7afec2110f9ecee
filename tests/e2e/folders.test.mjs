// A dataset zip with no index.csv, one folder per label (issue #34): the page reads the labels
// from the folder names, says so, counts them (an image in both folders has both labels), trains
// on the CPU and predicts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { backendOf, openApp, pngOf, shownPredictions, unzip, zipOf } from "./harness.mjs";

const SIDE = 16;

/** A solid square of `SIDE` px. */
function solid(rgb) {
  const pixels = Buffer.alloc(SIDE * SIDE * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set(rgb, i);
  return pngOf(SIDE, SIDE, pixels);
}

/**
 * `colours/red/` and `colours/blue/` (a zip made by compressing the folder `colours/`): 10 reds,
 * 10 blues, and 4 purples that are the same file in both folders (red and blue), with a note the
 * page ignores.
 */
function coloursZip() {
  const files = { "colours/notes.txt": "red and blue squares" };
  for (let i = 0; i < 10; i++) {
    files[`colours/red/r${i}.png`] = solid([190 + i * 5, 10 + i, 20]);
    files[`colours/blue/b${i}.png`] = solid([20, 10 + i, 190 + i * 5]);
  }
  for (let i = 0; i < 4; i++) {
    const purple = solid([180, 10 + i * 10, 180]);
    files[`colours/red/p${i}.png`] = purple;
    files[`colours/blue/p${i}.png`] = purple;
  }
  return zipOf(files, { deflate: true });
}

test("a zip of one folder per label: labels from the folder names, trained on the CPU, predicted",
  { timeout: 15 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "cpu");
      await page.setInputFiles("#dataset-file", { name: "colours.zip", mimeType: "application/zip", buffer: coloursZip() });
      await page.waitForFunction(() => document.querySelector("#summary-text").textContent.startsWith("colours.zip"));
      const summary = await page.textContent("#summary-text");
      assert.match(summary, /24 images, 2 labels, 16×16 px/);
      assert.match(summary, /Labels from folder names \(no index\.csv\)/);
      assert.doesNotMatch(summary, /paths from column/);
      assert.equal(await page.getAttribute("#summary", "data-labels-from"), "folders");
      const counts = await page.$$eval("#label-counts tbody tr", (rows) =>
        rows.map((r) => [...r.querySelectorAll("td")].slice(0, 3).map((td) => td.textContent)));
      assert.deepEqual(counts, [["blue", "14", "10"], ["red", "14", "10"]]);
      assert.match(await page.textContent("#summary-details"), /20 with 1, 4 with 2/);
      const warnings = await page.$$eval("#summary-warnings li", (items) => items.map((li) => li.textContent));
      assert.ok(warnings.some((w) => /colours\/notes\.txt/.test(w) && /ignored/.test(w)), JSON.stringify(warnings));

      await page.fill("#opt-image-size", String(SIDE));
      await page.selectOption("#opt-depth", "11");
      await page.fill("#opt-epochs", "2");
      await page.fill("#opt-batch-size", "8");
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=done]", { timeout: 10 * 60_000 });
      const metrics = await page.$$eval("#metrics-table tbody tr", (rows) => rows.map((r) => r.dataset.label));
      assert.deepEqual(metrics, ["blue", "red"]);
      assert.match(await page.textContent("#model-info"), /2 labels, 16 px/);
      assert.deepEqual(JSON.parse(await page.getAttribute("#model-info", "data-labels")), ["blue", "red"]);

      await page.setInputFiles("#predict-file", { name: "red.png", mimeType: "image/png", buffer: solid([220, 15, 20]) });
      const predictions = await shownPredictions(page);
      assert.deepEqual(predictions.map((p) => p.label).sort(), ["blue", "red"]);
      for (const p of predictions) assert.ok(p.probability >= 0 && p.probability <= 1, JSON.stringify(p));

      assert.ok(await page.isHidden("#error"), "no error shown");
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });

test("a folder chosen in the page opens as its zip would", { timeout: 5 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tagtrain-folder-"));
  const folder = join(dir, "colours");
  for (const [path, bytes] of Object.entries(unzip(coloursZip()))) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  const app = await openApp({ webgpu: false });
  const { page } = app;
  try {
    await page.setInputFiles("#dataset-folder", folder);
    await page.waitForFunction(() => document.querySelector("#summary-text").textContent.startsWith("colours.zip"));
    const summary = await page.textContent("#summary-text");
    assert.match(summary, /24 images, 2 labels, 16×16 px/);
    assert.match(summary, /Labels from folder names/);
    const counts = await page.$$eval("#label-counts tbody tr", (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].slice(0, 3).map((td) => td.textContent)));
    assert.deepEqual(counts, [["blue", "14", "10"], ["red", "14", "10"]]);
    await page.waitForSelector("#gallery-grid[data-state=done]");
    assert.equal(await page.getAttribute("#gallery-grid", "data-total"), "24");
    assert.ok(await page.isHidden("#error"));
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
