// A real fault: an uncaught error inside the worker while it trains (the test throws it there,
// as a wasm trap outside a request would). The page says so, starts a new worker, and the
// dataset and the last model are usable again without reloading the page.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, shownPredictions, trainQuickly } from "./harness.mjs";

const CRASH = "injected worker crash";

test("a worker crash mid-run restarts the worker with the dataset and the last model",
  { timeout: 15 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "cpu");
      await loadSample(page);
      await trainQuickly(page);
      const digit = join(FIXTURES, "digit.png");
      await page.setInputFiles("#predict-file", digit);
      const before = await shownPredictions(page);

      // A second, long run; crash the worker in the middle of it.
      await page.fill("#opt-epochs", "50");
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=running]", { timeout: 5 * 60_000 });
      const [worker] = page.workers();
      await worker.evaluate((message) => { setTimeout(() => { throw new Error(message); }); }, CRASH);
      await page.waitForSelector("#train-status[data-state=failed]", { timeout: 60_000 });
      assert.match(await page.textContent("#error-message"), new RegExp(CRASH));
      await page.waitForSelector("body[data-restored='1']", { timeout: 60_000 });
      assert.match(await page.textContent("#backend-notice"), /restarted; the dataset and the model were loaded into it again/);

      // The previous model predicts the same, in the new worker.
      await page.click("#error-close");
      await page.evaluate(() => { document.querySelector("#predictions").dataset.state = ""; });
      await page.setInputFiles("#predict-file", digit);
      const after = await shownPredictions(page);
      assert.deepEqual(after.map((p) => p.label), before.map((p) => p.label));
      for (const [a, b] of after.map((p, i) => [p.probability, before[i].probability])) {
        assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
      }
      // And the dataset trains again.
      await trainQuickly(page);
      assert.ok(await page.isHidden("#error"), "no error after the recovery");
      const unexpected = app.problems.filter((p) => !p.includes(CRASH));
      assert.deepEqual(unexpected, []);
    } finally {
      await app.close();
    }
  });
