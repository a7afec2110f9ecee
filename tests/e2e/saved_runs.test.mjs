// Runs and models kept in the browser (www/store.js): a run closed after its epoch-2 (or 3) autosave is
// resumed in a new page and ends as the uninterrupted run with the same seed; the library keeps,
// renames, deletes and reopens models across page loads; a library written by store version 1
// (tests/fixtures/library-v1) still opens.
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, shownPredictions } from "./harness.mjs";

/** The same options for every run of the sample: 4 epochs of 12 steps, seed 5. At 64 px an epoch
 * takes about a second on the CPU page: time to close the page before the next one is saved. */
async function setOptions(page) {
  await page.fill("#opt-image-size", "64");
  await page.selectOption("#opt-depth", "11");
  await page.fill("#opt-epochs", "4");
  await page.fill("#opt-batch-size", "4");
  await page.fill("#opt-learning-rate", "0.003");
  await page.locator("details.advanced summary").click();
  await page.fill("#opt-seed", "5");
}

/** The epoch table as numbers. */
const epochRows = (page) => page.$$eval("#epoch-history tbody tr", (rows) => rows.map((r) => ({
  epoch: Number(r.dataset.epoch), train: Number(r.dataset.trainLoss), valid: Number(r.dataset.validLoss),
  map: Number(r.dataset.map),
})));

const done = (page) => page.waitForSelector("#train-status[data-state=done]", { timeout: 15 * 60_000 });

/** The library's rows: id and name. */
const libraryRows = (page) => page.$$eval("#library tbody tr", (rows) =>
  rows.map((r) => ({ id: r.dataset.id, name: r.dataset.name })));

test("a run closed after epoch 2 or 3 resumes in a new page and ends as the uninterrupted run; the library keeps its models",
  { timeout: 30 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    try {
      const { page } = app;
      assert.equal(await backendOf(page), "cpu");
      assert.ok(await page.isHidden("#resume-run"), "nothing to resume on a first visit");

      // The uninterrupted run.
      await loadSample(page);
      await setOptions(page);
      await page.click("#train");
      await done(page);
      const whole = await epochRows(page);
      assert.equal(whole.length, 4);
      const wholeSteps = (await page.textContent("#train-status")).match(/Done: (\d+) steps/)[1];
      await page.waitForFunction(() => document.querySelector("#library")?.dataset.count === "1");

      // The same run again, closed right after epoch 2 was saved (or epoch 3, should the page
      // save it before it closes: the saved epoch is read, not assumed).
      await page.click("#train");
      await page.waitForFunction(() =>
        Number(document.querySelector("#autosave-status")?.textContent.match(/Saved in this browser after epoch (\d+)/)?.[1] ?? 0) >= 2,
      null, { timeout: 10 * 60_000 });
      await page.close();

      const resumedPage = await app.newPage();
      assert.equal(await backendOf(resumedPage), "cpu");
      await resumedPage.waitForSelector("#resume-run:not([hidden])");
      await resumedPage.waitForSelector("#resume-run[data-epoch]");
      const saved = await resumedPage.getAttribute("#resume-run", "data-epoch");
      assert.ok(["2", "3"].includes(saved), `saved after epoch ${saved}`);
      assert.equal(await resumedPage.textContent("#resume"), `Resume training of sample (epoch ${saved} of 4)`);
      assert.match(await resumedPage.textContent("#resume-text"), /The dataset is kept with it/);
      await resumedPage.click("#resume");
      await resumedPage.waitForSelector("#summary:not([hidden])");
      await done(resumedPage);
      assert.equal(await resumedPage.getAttribute("#train-status", "data-resumed-epochs"), saved);
      const resumed = await epochRows(resumedPage);
      assert.equal(resumed.length, 4, "the epochs before the reload are shown too");
      // Same seed, same state: the same curve and the same final metrics (CPU, single-threaded
      // wasm: deterministic; 1e-4 leaves room for nothing but float formatting).
      for (const [a, b] of resumed.map((r, i) => [r, whole[i]])) {
        assert.equal(a.epoch, b.epoch);
        for (const key of ["train", "valid", "map"]) {
          assert.ok(Math.abs(a[key] - b[key]) <= 1e-4, `epoch ${a.epoch} ${key}: resumed ${a[key]} vs whole ${b[key]}`);
        }
      }
      assert.match(await resumedPage.textContent("#train-status"), new RegExp(`Done: ${wholeSteps} steps`));

      // The library: both finished runs' models, across page loads.
      await resumedPage.waitForFunction(() => document.querySelector("#library")?.dataset.count === "2");
      await resumedPage.reload();
      assert.equal(await backendOf(resumedPage), "cpu");
      assert.ok(await resumedPage.isHidden("#resume-run"), "a finished run is not offered again");
      await resumedPage.waitForFunction(() => document.querySelector("#library")?.dataset.count === "2");
      let rows = await libraryRows(resumedPage);
      assert.match(await resumedPage.textContent("#storage-info"), /This page stores [\d.]+ MB/);

      // Rename the newest, delete the other (a second click confirms), reload: both stick.
      const renamed = resumedPage.locator(`#library tr[data-id="${rows[0].id}"] .library-name`);
      await renamed.fill("digits, resumed");
      await renamed.press("Enter");
      await resumedPage.waitForSelector(`#library tr[data-name="digits, resumed"]`);
      const remove = resumedPage.locator(`#library tr[data-id="${rows[1].id}"] .library-delete`);
      await remove.click();
      assert.equal(await remove.textContent(), "Really delete?");
      await remove.click();
      await resumedPage.waitForFunction(() => document.querySelector("#library")?.dataset.count === "1");
      await resumedPage.reload();
      await backendOf(resumedPage);
      await resumedPage.waitForFunction(() => document.querySelector("#library")?.dataset.count === "1");
      rows = await libraryRows(resumedPage);
      assert.deepEqual(rows.map((r) => r.name), ["digits, resumed"]);

      // Reopen it: it predicts, and continuing training from it is one click.
      assert.ok(await resumedPage.isDisabled("#predict-file"), "no current model after a reload");
      await resumedPage.click(`#library tr[data-id="${rows[0].id}"] .library-open`);
      await resumedPage.waitForFunction(() => /from your models: digits, resumed/.test(document.querySelector("#model-info").textContent));
      await resumedPage.setInputFiles("#predict-file", join(FIXTURES, "digit.png"));
      const predictions = await shownPredictions(resumedPage);
      assert.equal(predictions.length, 4);
      await resumedPage.click(`#library tr[data-id="${rows[0].id}"] .library-continue`);
      await resumedPage.waitForFunction(() =>
        document.querySelector("#init-model-name").textContent === "Starting from digits, resumed.safetensors");

      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });

/** Writes the files of `tests/fixtures/<dir>` into the page's private file system under `tagtrain/models/`. */
async function plantLibrary(page, fixture) {
  const root = join(FIXTURES, fixture);
  const entries = [];
  for (const id of await readdir(root)) {
    for (const name of await readdir(join(root, id))) {
      entries.push({ id, name, base64: (await readFile(join(root, id, name))).toString("base64") });
    }
  }
  await page.evaluate(async (files) => {
    const origin = await navigator.storage.getDirectory();
    const models = await (await origin.getDirectoryHandle("tagtrain", { create: true }))
      .getDirectoryHandle("models", { create: true });
    for (const { id, name, base64 } of files) {
      const dir = await models.getDirectoryHandle(id, { create: true });
      const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await writable.write(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
      await writable.close();
    }
  }, entries);
}

test("a library stored by version 1 opens and predicts; an entry from a newer version is listed, not opened",
  { timeout: 10 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    try {
      const { page } = app;
      await backendOf(page);
      await plantLibrary(page, "library-v1");
      await page.reload();
      await backendOf(page);
      await page.waitForFunction(() => document.querySelector("#library")?.dataset.count === "2");
      const rows = await libraryRows(page);
      assert.deepEqual(rows.map((r) => r.name).sort(), ["digits v1", "from the future"]);
      const future = page.locator('#library tr[data-name="from the future"]');
      assert.match(await future.textContent(), /saved by a newer tagtrain/);
      assert.ok(await future.locator(".library-open").isDisabled());

      await page.click('#library tr[data-name="digits v1"] .library-open');
      await page.waitForFunction(() => /from your models: digits v1/.test(document.querySelector("#model-info").textContent));
      await page.setInputFiles("#predict-file", join(FIXTURES, "digit.png"));
      const shown = await shownPredictions(page);
      // The probabilities the CLI gives for this image with this model file.
      const expected = JSON.parse(await readFile(join(FIXTURES, "library-v1-expected.json"), "utf8"));
      for (const p of shown) {
        assert.ok(Math.abs(p.probability - expected[p.label]) < 1e-4, `${p.label}: ${p.probability} vs ${expected[p.label]}`);
      }
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });

test("a full storage is reported in words, naming the largest models; the model is still usable",
  { timeout: 10 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    try {
      const { page } = app;
      await backendOf(page);
      await plantLibrary(page, "library-v1");
      // From the next load on, every new model file hits a full quota, as on a full disk.
      await page.addInitScript(() => {
        const create = FileSystemFileHandle.prototype.createWritable;
        FileSystemFileHandle.prototype.createWritable = async function (...args) {
          if (this.name === "model.safetensors") throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
          return create.apply(this, args);
        };
      });
      await page.reload();
      await backendOf(page);
      const model = join(FIXTURES, "library-v1", "m1-digits", "model.safetensors");
      await page.setInputFiles("#model-file", model);
      await page.waitForSelector("#error:not([hidden])");
      const error = await page.textContent("#error");
      assert.match(error, /could not be kept in the browser's library/);
      assert.match(error, /storage for this page is full/);
      assert.match(error, /Delete models you no longer need/);
      assert.match(error, /“digits v1” \(0\.5 MB\)/);
      // Nothing half-written is listed, and the model is the current one all the same.
      await page.waitForFunction(() => document.querySelector("#library")?.dataset.count === "2");
      assert.match(await page.textContent("#model-info"), /loaded from model\.safetensors/);
      await page.setInputFiles("#predict-file", join(FIXTURES, "digit.png"));
      assert.equal((await shownPredictions(page)).length, 4);
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
