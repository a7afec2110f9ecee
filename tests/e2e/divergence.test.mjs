// A real fault: an absurd learning rate (with weight decay that flips and grows every weight)
// makes the loss overflow mid-run. The run stops on its own and says so in words (the step and
// the learning rate), the best epoch before it is the model, and that model predicts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, shownPredictions } from "./harness.mjs";

test("a diverging run stops, says why, and keeps its best epoch, which predicts",
  { timeout: 15 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "cpu");
      await loadSample(page);
      await page.fill("#opt-image-size", "16");
      await page.fill("#opt-epochs", "300");
      await page.fill("#opt-batch-size", "16");
      await page.fill("#opt-learning-rate", "10");
      await page.click("details.advanced summary");
      await page.fill("#opt-weight-decay", "0.9");
      await page.fill("#opt-gradient-clip", "0");
      await page.fill("#opt-patience", "0");
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=diverged]", { timeout: 12 * 60_000 });

      const status = await page.textContent("#train-status");
      assert.match(status, /diverged at step \d+ \(loss \S+, learning rate [\d.e+-]+\); lower the learning rate/, status);
      assert.match(await page.textContent("#model-info"), /trained here/);
      assert.ok(await page.isEnabled("#train"), "the page can train again");

      await page.setInputFiles("#predict-file", join(FIXTURES, "digit.png"));
      const predictions = await shownPredictions(page);
      assert.equal(predictions.length, 4);
      for (const p of predictions) {
        assert.ok(Number.isFinite(p.probability) && p.probability >= 0 && p.probability <= 1, JSON.stringify(p));
      }
      assert.ok(await page.isHidden("#error"), "a divergence is reported in the status, not as an error");
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
