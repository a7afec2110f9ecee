// The recipe's choices in the page (CPU): a validation share left to the dataset, a time budget
// instead of epochs, label smoothing, the last epoch's weights kept, and test-time augmentation
// when predicting. (What the
// core decides is tested in Rust: src/data/split.rs, src/train/budget.rs, src/infer/tta.rs.)
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { FIXTURES, loadSample, openApp, shownPredictions } from "./harness.mjs";

test("validation share from the data, a time budget, label smoothing, the last epoch kept, test-time augmentation", { timeout: 15 * 60_000 }, async () => {
  const app = await openApp({ webgpu: false });
  const { page } = app;
  try {
    await loadSample(page);
    // Left empty, the dataset decides the validation share; no time budget by default.
    assert.equal(await page.inputValue("#opt-validation"), "");
    assert.equal(await page.getAttribute("#opt-validation", "placeholder"), "auto");
    assert.equal(await page.inputValue("#opt-time-budget"), "");
    assert.equal(await page.inputValue("#opt-label-smoothing"), "0");
    assert.equal(await page.inputValue("#opt-ema"), "0");
    // The last epoch's weights by default (the best validation epoch's when stopped early).
    assert.equal(await page.inputValue("#opt-keep"), "last");
    assert.equal(await page.inputValue("#opt-conv-init"), "burn");

    // About 15 seconds of training instead of a number of epochs.
    await page.fill("#opt-image-size", "16");
    await page.fill("#opt-batch-size", "8");
    await page.fill("#opt-epochs", "1");
    await page.fill("#opt-time-budget", "0.25");
    await page.click("details.advanced summary");
    await page.fill("#opt-label-smoothing", "0.1");
    await page.fill("#opt-ema", "0.9");
    await page.fill("#opt-patience", "0");
    // He's initialisation reaches the worker, and the run trains with it to its end.
    await page.selectOption("#opt-conv-init", "he");
    await page.click("#train");
    await page.waitForSelector("#train-budget:not([hidden])", { timeout: 5 * 60_000 });
    const epochs = Number(await page.getAttribute("#train-budget", "data-epochs"));
    assert.ok(epochs >= 1, `${epochs} epochs chosen`);
    assert.match(await page.textContent("#train-budget"), /fit the time budget|fits the time budget/);
    await page.waitForSelector("#train-status[data-state=done]", { timeout: 10 * 60_000 });
    // The run went past the single epoch the field asked for when more fit: without early
    // stopping, exactly the epochs chosen.
    const rows = await page.$$eval("#epoch-history tbody tr", (r) => r.length);
    assert.equal(rows, epochs, `${rows} epochs run of ${epochs} chosen`);
    // The schedule ran to its end, so its last epoch's weights are the ones kept.
    const kept = await page.$$eval("#epoch-history tbody tr", (r) => r.map((tr) => tr.dataset.kept));
    assert.equal(kept.at(-1), "true", `kept marks: ${kept}`);
    assert.ok(await page.isHidden("#error"), `no error shown: ${await page.textContent("#error-message")}`);

    // Test-time augmentation: ticking it predicts the shown image again, averaged over shifted
    // copies, which moves the probabilities a little; unticking gives the plain ones back.
    const image = join(FIXTURES, "digit.png");
    await page.setInputFiles("#predict-file", image);
    const plain = await shownPredictions(page);
    await page.evaluate(() => { document.querySelector("#predictions").dataset.state = "stale"; });
    await page.check("#predict-tta");
    const averaged = await shownPredictions(page);
    assert.deepEqual(averaged.map((p) => p.label).sort(), plain.map((p) => p.label).sort());
    for (const p of averaged) assert.ok(p.probability >= 0 && p.probability <= 1, `${p.label}: ${p.probability}`);
    const byLabel = new Map(plain.map((p) => [p.label, p.probability]));
    assert.ok(averaged.some((p) => Math.abs(p.probability - byLabel.get(p.label)) > 1e-6),
      "the averaged probabilities differ from the plain ones");
    await page.evaluate(() => { document.querySelector("#predictions").dataset.state = "stale"; });
    await page.uncheck("#predict-tta");
    const again = await shownPredictions(page);
    for (const p of again) assert.ok(Math.abs(p.probability - byLabel.get(p.label)) < 1e-6, `${p.label} back to plain`);
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
  }
});
