// The heat map of a predicted image, on WebGPU: where the model looked for a label, drawn over
// the image as the model sees it, with its toggle and opacity.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, shownPredictions, trainQuickly } from "./harness.mjs";

test("the predicted image's heat map, per label, on WebGPU", { timeout: 15 * 60_000 }, async () => {
  const app = await openApp();
  const { page } = app;
  try {
    const backend = await backendOf(page);
    assert.equal(backend, "webgpu");
    await loadSample(page);
    await page.fill("#opt-image-size", "32");
    await trainQuickly(page);
    assert.ok(await page.isHidden("#predict-heat-area"), "nothing to show before a prediction");

    await page.setInputFiles("#predict-file", join(FIXTURES, "digit.png"));
    const predictions = await shownPredictions(page);
    await page.click("#predict-heat-area summary");
    await page.waitForSelector("#predict-heat[data-state=done]", { timeout: 120_000 });
    assert.equal(await page.getAttribute("#predict-heat", "data-label"), predictions[0].label,
      "the most probable label's heat map first");
    const sizes = await page.$eval("#predict-heat", (viewer) =>
      [...viewer.querySelectorAll("canvas")].map((c) => [c.width, c.height]));
    assert.equal(sizes.length, 2);
    assert.ok(sizes[0][0] > 0 && sizes[0][1] > 0, `image drawn: ${sizes}`);
    assert.deepEqual(sizes[1], sizes[0], "the heat map covers the image");
    const probability = Number(await page.getAttribute("#predict-heat", "data-probability"));
    assert.ok(probability >= 0 && probability <= 1);

    const other = predictions[predictions.length - 1].label;
    await page.selectOption("#predict-heat .heat-label", other);
    await page.waitForSelector(`#predict-heat[data-state=done][data-label="${other}"]`, { timeout: 120_000 });
    await page.uncheck("#predict-heat .heat-toggle");
    assert.ok(await page.isHidden("#predict-heat canvas.heat-overlay"));
    await page.check("#predict-heat .heat-toggle");
    await page.$eval("#predict-heat .heat-opacity", (slider) => {
      slider.value = "0.8";
      slider.dispatchEvent(new Event("input", { bubbles: true }));
    });
    assert.equal(await page.$eval("#predict-heat canvas.heat-overlay", (c) => getComputedStyle(c).opacity), "0.8");
    assert.ok(await page.isHidden("#error"), "no error shown");
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
  }
});
