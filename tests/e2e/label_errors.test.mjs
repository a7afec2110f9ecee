// Cleaning labels in the page, as a person does it: a dataset with three planted label
// mistakes, "Find label errors" (k-fold cross-validation and confident learning in the worker),
// the planted mistakes listed first with their thumbnails, Accept / Keep my label, the change
// log with Undo, the label counts following the edits, and "Download dataset": a zip of the
// same file bytes with the edited index.csv and changes.csv, which the CLI reads back with the
// same labels and trains on.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, openApp, pngOf, unzip, zipOf } from "./harness.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tagtrain-target");
const binary = join(targetDir, "release", "tagtrain");

/** 48 images of three colours (red, blue, purple = both), each a little different; three wrong labels. */
function coloursWithMistakes() {
  const files = {};
  const rows = ["image,red,blue"];
  for (let i = 0; i < 48; i++) {
    let [red, blue] = i < 16 ? [1, 0] : i < 32 ? [0, 1] : [1, 1];
    const shade = 3 * (i % 16);
    const rgb = Buffer.alloc(16 * 16 * 3);
    for (let p = 0; p < 256; p++) rgb.set([200 * red + shade, 40 + (shade >> 1), 200 * blue + shade], 3 * p);
    files[`c${i}.png`] = pngOf(16, 16, rgb);
    if (i === 0) blue = 1;
    if (i === 20) blue = 0;
    if (i === 40) red = 0;
    rows.push(`c${i}.png,${red},${blue}`);
  }
  return { files, zip: zipOf({ "index.csv": rows.join("\n") + "\n", ...files }, { deflate: true }) };
}

const positives = (page) => page.$$eval("#label-counts tbody tr", (rows) =>
  Object.fromEntries(rows.map((r) => [r.dataset.label, Number(r.children[1].textContent)])));

test("label errors: the planted mistakes found, accepted, undone, and the dataset downloaded",
  { timeout: 10 * 60_000 }, async () => {
    assert.ok(existsSync(binary), `${binary} is built by \`cargo test --release\` (scripts/test.sh runs it first)`);
    const { files, zip } = coloursWithMistakes();
    const dir = mkdtempSync(join(tmpdir(), "tagtrain-label-errors-"));
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "cpu");
      await page.setInputFiles("#dataset-file", { name: "colours.zip", mimeType: "application/zip", buffer: zip });
      await page.waitForSelector("#cleaning:not([hidden])");
      assert.deepEqual(await positives(page), { red: 31, blue: 32 });

      await page.fill("#opt-image-size", "8");
      await page.fill("#opt-batch-size", "8");
      await page.fill("#clean-folds", "3");
      await page.fill("#clean-epochs", "10");
      await page.click("#find-label-errors");
      await page.waitForSelector("#clean-status[data-state=done], #clean-status[data-state=failed]", { timeout: 8 * 60_000 });
      assert.equal(await page.getAttribute("#clean-status", "data-state"), "done", await page.textContent("#error"));
      assert.match(await page.textContent("#clean-status"), /^\d+ labels look wrong/);

      const suspects = await page.$$eval("#suspects li", (items) => items.map((li) => ({
        index: Number(li.dataset.index), label: li.dataset.label, given: Number(li.dataset.given),
        // A drawn thumbnail: its canvas has a size and pixels that are not all one colour.
        drawn: (() => {
          const canvas = li.querySelector("canvas");
          const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
          return canvas.width > 0 && data.some((v, k) => k % 4 !== 3 && v > 0);
        })(),
      })));
      const top = suspects.slice(0, 3).map((s) => `${s.index}/${s.label}/${s.given}`).sort();
      assert.deepEqual(top, ["0/blue/1", "20/blue/0", "40/red/0"], JSON.stringify(suspects));
      assert.ok(suspects.slice(0, 3).every((s) => s.drawn), "each suspect's thumbnail is drawn");
      assert.match(await page.textContent("#suspects li[data-index='20']"),
        /blue: given absent; the models say present \(\d+ % sure\)/);

      // Accept two suggestions, keep a third label; the counts follow the edits.
      await page.click("#suspects li[data-index='20'] .accept");
      await page.waitForSelector("#changes:not([hidden])");
      await page.click("#suspects li[data-index='40'] .accept");
      await page.waitForFunction(() => document.querySelector("#changes-count").textContent === "2");
      assert.deepEqual(await positives(page), { red: 32, blue: 33 });
      await page.click("#suspects li[data-index='0'] .keep");
      assert.equal(await page.getAttribute("#suspects li[data-index='0']", "data-answer"), "kept: present");
      assert.ok(await page.isDisabled("#suspects li[data-index='0'] .accept"));

      // Undo the first change, then accept it again.
      await page.click("#changes-table tbody tr[data-image='c20.png'] button");
      await page.waitForFunction(() => document.querySelector("#changes-count").textContent === "1");
      assert.deepEqual(await positives(page), { red: 32, blue: 32 });
      assert.ok(await page.isEnabled("#suspects li[data-index='20'] .accept"), "the suspect can be answered again");
      await page.click("#suspects li[data-index='20'] .accept");
      await page.waitForFunction(() => document.querySelector("#changes-count").textContent === "2");
      const log = await page.$$eval("#changes-table tbody tr", (rows) => rows.map((r) => r.dataset.image + "/" + r.dataset.label));
      assert.deepEqual(log, ["c40.png/red", "c20.png/blue"]);

      // The download: the same bytes for every image, the edited index.csv, the log.
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-dataset")]);
      assert.equal(download.suggestedFilename(), "colours-edited.zip");
      const saved = join(dir, "edited.zip");
      await download.saveAs(saved);
      const entries = unzip(readFileSync(saved));
      for (const [name, bytes] of Object.entries(files)) {
        assert.ok(entries[name]?.equals(bytes), `${name}: byte for byte`);
      }
      const index = entries["index.csv"].toString().trim().split("\n");
      assert.equal(index[0], "image,red,blue");
      assert.equal(index[1 + 20], "c20.png,0,1");
      assert.equal(index[1 + 40], "c40.png,1,1");
      assert.equal(index[1 + 0], "c0.png,1,1", "the kept label is unchanged");
      const changes = entries["changes.csv"].toString().trim().split("\n");
      assert.equal(changes[0], "image,label,old,new,why");
      assert.match(changes[1], /^c40\.png,red,0,1,"suspected label error \(\d+ % sure\), suggestion accepted"$/);
      assert.match(changes[2], /^c20\.png,blue,0,1,/);

      // The CLI reads it with the same labels, and trains on it.
      const summary = JSON.parse(execFileSync(binary, ["inspect", saved, "--json"], { encoding: "utf8" }));
      assert.deepEqual(summary.labels.map((l) => [l.name, l.positives]), [["red", 32], ["blue", 33]]);
      const model = join(dir, "model.safetensors");
      execFileSync(binary, ["train", saved, "-o", model, "--epochs", "1", "--image-size", "8", "--batch-size", "8",
        "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
      assert.ok(existsSync(model));

      // The next run in the page trains on the edited labels, and its model says so.
      await page.fill("#opt-epochs", "1");
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=done]", { timeout: 5 * 60_000 });
      assert.match(await page.textContent("#model-info"), /data with 2 label edits/);
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
