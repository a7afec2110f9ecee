// A real fault on the WebGPU page: the GPU device is destroyed while a run trains (through the
// worker's diagnostic hook, `globalThis.tagtrainGpuDevices`), as a driver reset or the GPU
// running out of memory would lose it. The page says so, moves to the CPU with the dataset and
// the last model, the model predicts as before, and the offered CPU run trains.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, shownPredictions, trainQuickly } from "./harness.mjs";

test("a lost GPU device keeps the model and offers to continue on the CPU",
  { timeout: 20 * 60_000 }, async () => {
    const app = await openApp({ webgpu: true });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "webgpu");
      await loadSample(page);
      await page.fill("#opt-image-size", "16");
      await trainQuickly(page);
      const digit = join(FIXTURES, "digit.png");
      await page.setInputFiles("#predict-file", digit);
      const before = await shownPredictions(page);

      // A second, long run; lose the device in the middle of it.
      await page.fill("#opt-epochs", "50");
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=running]", { timeout: 5 * 60_000 });
      const [worker] = page.workers();
      const destroyed = await worker.evaluate(() => {
        for (const device of globalThis.tagtrainGpuDevices) device.destroy();
        return globalThis.tagtrainGpuDevices.length;
      });
      assert.ok(destroyed >= 1, "the module asked for a GPU device");

      await page.waitForSelector("#train-status[data-state=failed]", { timeout: 2 * 60_000 });
      await page.waitForSelector("body[data-restored='1']", { timeout: 2 * 60_000 });
      assert.equal(await page.textContent("#error-title"), "The GPU stopped working");
      assert.match(await page.textContent("#error-message"),
        /^The GPU device was lost \(destroyed.*\)\. The last good model is kept, and the page moved to the CPU\.$/);
      assert.equal(await page.getAttribute("#backend", "data-kind"), "cpu");
      assert.match(await page.textContent("#backend-notice"),
        /The GPU stopped working \(device lost \(destroyed.*The page now trains on the CPU; the dataset and the model were loaded into it again/s);

      // The last good model predicts the same on the CPU (different kernels: 1e-4).
      await page.click("#error-close");
      await page.evaluate(() => { document.querySelector("#predictions").dataset.state = ""; });
      await page.setInputFiles("#predict-file", digit);
      const after = await shownPredictions(page);
      assert.deepEqual(after.map((p) => p.label).sort(), before.map((p) => p.label).sort());
      for (const p of after) {
        const b = before.find((q) => q.label === p.label);
        assert.ok(Math.abs(p.probability - b.probability) < 1e-4, `${p.label}: ${p.probability} vs ${b.probability}`);
      }

      // The offered run: same options, on the CPU.
      await page.fill("#opt-epochs", "1");
      await page.click("#train-on-cpu");
      await page.waitForSelector("#train-status[data-state=done]", { timeout: 10 * 60_000 });
      assert.match(await page.textContent("#train-status"), /^Done:/);
      assert.ok(await page.isHidden("#error"), "no error after the recovery");
      // The loss is handled: no panic, no console error, no uncaught error.
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
