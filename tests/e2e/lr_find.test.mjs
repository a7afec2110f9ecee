// The learning-rate range test in the page, on the CPU and on WebGPU: "Find a learning rate"
// runs it on the loaded dataset with the form's network, draws the curve as it comes, fills in
// the suggested rate, and training at that rate goes on as usual. (Its choice on data whose good
// and bad rates are known is tested in Rust: tests/lr_find.rs.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { backendOf, loadSample, openApp } from "./harness.mjs";

for (const webgpu of [false, true]) {
  const backend = webgpu ? "webgpu" : "cpu";
  test(`Find a learning rate: the curve, the suggestion, Stop (${backend})`, { timeout: 15 * 60_000 }, async () => {
    const app = await openApp({ webgpu });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), backend);
      assert.ok(await page.isDisabled("#lr-find"), "nothing to test before a dataset");
      await loadSample(page);
      // Small enough for a software GPU: 16 px, 4 images a batch.
      await page.fill("#opt-image-size", "16");
      await page.fill("#opt-batch-size", webgpu ? "4" : "8");
      await page.fill("#opt-learning-rate", "0.5");
      await page.click("#lr-find");
      assert.ok(await page.isDisabled("#train"), "no training while the test runs");
      if (webgpu) {
        // A software GPU takes seconds a batch: Stop after a few rates, as a person may. The
        // rates so far are drawn; too few to suggest one, so the field keeps its value.
        await page.waitForFunction(() => Number(document.querySelector("#lr-chart").dataset.points) >= 4,
          null, { timeout: 10 * 60_000 });
        await page.click("#stop");
        await page.waitForSelector("#lr-find-status[data-state=stopped]", { timeout: 5 * 60_000 });
        const points = Number(await page.getAttribute("#lr-find-status", "data-points"));
        assert.ok(points >= 4 && points < 100, `${points} rates tried`);
        assert.equal(Number(await page.getAttribute("#lr-chart", "data-points")), points);
        assert.equal(await page.inputValue("#opt-learning-rate"), "0.5", "no suggestion from a stopped test");
        assert.match(await page.textContent("#lr-find-status"), /too few to suggest/);
        assert.ok(await page.isEnabled("#train"));
        assert.ok(await page.isHidden("#error"), `no error shown: ${await page.textContent("#error-message")}`);
        assert.deepEqual(app.problems, []);
        return;
      }
      await page.waitForSelector("#lr-find-status[data-state=done]", { timeout: 12 * 60_000 });
      const suggested = Number(await page.getAttribute("#lr-find-status", "data-suggested"));
      const points = Number(await page.getAttribute("#lr-find-status", "data-points"));
      assert.ok(points >= 5 && points <= 100, `${points} rates tried`);
      assert.equal(Number(await page.getAttribute("#lr-chart", "data-points")), points, "the whole curve is drawn");
      assert.ok(suggested > 1e-6 && suggested < 1, `suggested ${suggested}`);
      assert.equal(Number(await page.inputValue("#opt-learning-rate")), suggested, "the suggestion is filled in");
      assert.match(await page.textContent("#lr-find-status"), /Suggested learning rate/);
      assert.ok(await page.isEnabled("#train"));

      // Training goes on as usual after the test.
      await page.fill("#opt-epochs", "1");
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=done]", { timeout: 10 * 60_000 });
      assert.ok(await page.isHidden("#error"), `no error shown: ${await page.textContent("#error-message")}`);
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
}
