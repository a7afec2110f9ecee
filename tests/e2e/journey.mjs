// The whole journey a person takes on the page, shared by the WebGPU and CPU-fallback tests:
// sample → summary → train 2 epochs at 32 px → metrics → predict → download → reload → load the
// model file → the same probabilities.
import assert from "node:assert/strict";
import { join } from "node:path";
import { backendOf, FIXTURES, loadSample, openApp, shownPredictions, trainQuickly } from "./harness.mjs";

export async function trainPredictReload({ webgpu, expectBackend, fineTune = false }) {
  const app = await openApp({ webgpu });
  const { page } = app;
  try {
    assert.equal(await backendOf(page), expectBackend);
    const maxBuffer = await page.getAttribute("#backend", "data-max-buffer");
    if (expectBackend === "cpu") {
      assert.ok(await page.isVisible("#backend-notice"), "the CPU fallback is announced");
      assert.match(await page.textContent("#backend-notice"), /CPU/);
      assert.equal(maxBuffer, "", "the CPU has no buffer limit");
    } else {
      // The adapter's limit is read (WebGPU guarantees at least 128 MiB): batches fit it.
      assert.ok(Number(maxBuffer) >= 128 * 2 ** 20, `the GPU's largest buffer: ${maxBuffer}`);
    }

    await loadSample(page);
    assert.match(await page.textContent("#summary-text"), /60 images, 4 labels, 32×32 px/);
    assert.equal(await page.locator("#label-counts tbody tr").count(), 4);

    await page.fill("#opt-image-size", "32");
    await page.selectOption("#opt-depth", "11");
    await page.fill("#opt-epochs", "2");
    await page.fill("#opt-batch-size", "8");
    await page.fill("#opt-learning-rate", "0.003");
    await page.click("#train");
    await page.waitForSelector("#train-status[data-state=done]", { timeout: 15 * 60_000 });
    assert.match(await page.textContent("#train-status"), /Done/);
    assert.ok(await page.isHidden("#train-batch"), "a batch of 8 at 32 px fits any GPU's buffers");

    const epochs = await page.$$eval("#epoch-history tbody tr", (rows) =>
      rows.map((r) => ({ train: Number(r.dataset.trainLoss), valid: Number(r.dataset.validLoss), map: Number(r.dataset.map) })));
    assert.equal(epochs.length, 2, "one row per epoch");
    assert.ok(epochs[1].train < epochs[0].train, `training loss falls: ${JSON.stringify(epochs)}`);
    for (const e of epochs) {
      assert.ok(Number.isFinite(e.valid) && e.valid > 0, "validation loss is shown");
      assert.ok(e.map >= 0 && e.map <= 1, "mAP in [0,1]");
    }
    const metrics = await page.$$eval("#metrics-table tbody tr", (rows) =>
      rows.map((r) => ({ label: r.dataset.label, f1: Number(r.dataset.f1) })));
    assert.deepEqual(metrics.map((m) => m.label), ["digit_0", "digit_1", "digit_2", "digit_3"]);
    for (const m of metrics) assert.ok(m.f1 >= 0 && m.f1 <= 1);
    assert.match(await page.textContent("#model-info"), /ResNetV2-Small-11, 4 labels, 32 px/);

    const image = join(FIXTURES, "digit.png");
    await page.setInputFiles("#predict-file", image);
    const first = await shownPredictions(page);
    assert.equal(first.length, 4, "every label gets a probability");
    for (const p of first) assert.ok(p.probability >= 0 && p.probability <= 1, JSON.stringify(p));
    const sorted = [...first].sort((a, b) => b.probability - a.probability);
    assert.deepEqual(first, sorted, "bars are sorted, highest first");

    // Thresholds were tuned per label on validation; a moved slider is kept in the model file.
    assert.equal(await page.locator("#threshold-table tbody tr").count(), 4);
    for (const t of await page.$$eval("#threshold-table input[type=range]", (xs) => xs.map((x) => Number(x.value)))) {
      assert.ok(t > 0 && t < 1, `tuned threshold ${t}`);
    }
    const hrefBefore = await page.getAttribute("#download", "href");
    await page.locator('#threshold-table tr[data-label="digit_0"] input').fill("0.9");
    await page.waitForFunction((before) => document.querySelector("#download").href !== before, hrefBefore);
    await page.waitForSelector("#predictions[data-state=done]");

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const modelPath = join(app.downloads, "model.safetensors");
    await download.saveAs(modelPath);
    assert.equal(download.suggestedFilename(), "tagtrain-model.safetensors");

    await page.reload();
    assert.equal(await backendOf(page), expectBackend);
    assert.ok(await page.isDisabled("#predict-file"), "no model after a reload");
    await page.setInputFiles("#model-file", modelPath);
    await page.waitForFunction(() => /loaded from/.test(document.querySelector("#model-info").textContent));
    assert.equal(await page.inputValue('#threshold-table tr[data-label="digit_0"] input'), "0.9",
      "the chosen threshold travelled in the model file");
    await page.setInputFiles("#predict-file", image);
    const again = await shownPredictions(page);
    const digit0 = page.locator('#predictions li[data-label="digit_0"]');
    const positive = (await digit0.getAttribute("class")) === "positive";
    assert.equal(positive, Number(await digit0.getAttribute("data-probability")) >= 0.9);
    const before = Object.fromEntries(first.map((p) => [p.label, p.probability]));
    assert.equal(again.length, 4);
    for (const p of again) {
      assert.ok(Math.abs(p.probability - before[p.label]) <= 1e-5,
        `${p.label}: ${p.probability} after reload vs ${before[p.label]}`);
    }
    if (fineTune) {
      // Continue from the downloaded model file on the same labels.
      await loadSample(page);
      await page.click(".advanced summary");
      await page.setInputFiles("#init-model-file", modelPath);
      assert.match(await page.textContent("#init-model-name"), /Starting from model\.safetensors/);
      await trainQuickly(page);
      assert.equal(await page.getAttribute("#train-status", "data-init"), "continue", "same labels: training continues");
      assert.match(await page.textContent("#model-info"), /trained here/);
    }
    assert.ok(await page.isHidden("#error"), "no error shown");
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
  }
}
