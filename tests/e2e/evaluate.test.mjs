// The options form is built from the backend's choices, and a trained model is evaluated on the
// loaded dataset (CPU page: the quickest to train on).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, trainQuickly, zipOf } from "./harness.mjs";

test("the form offers the backend's choices; Evaluate measures the model on the loaded dataset",
  { timeout: 15 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "cpu");
      const depths = await page.$$eval("#opt-depth option", (options) => options.map((o) => o.textContent));
      assert.deepEqual(depths, ["Small-11", "Small-20", "Small-29", "Small-56", "Large-26", "Large-50", "Large-101"]);
      assert.equal(await page.inputValue("#opt-depth"), "11", "the default depth is selected");
      assert.deepEqual(await page.$$eval("#opt-resize option", (options) => options.map((o) => o.value)),
        ["stretch", "center-crop", "letterbox"]);
      assert.ok(Number(await page.getAttribute("#opt-image-size", "max")) >= 320, "image size bounded by the limits");
      assert.equal(await page.inputValue("#opt-epochs"), "10", "default epochs");
      assert.ok(await page.isDisabled("#evaluate"), "nothing to evaluate yet");

      await loadSample(page);
      assert.ok(await page.isDisabled("#evaluate"), "a dataset but no model yet");
      // The hint follows the families' image sizes: 200 px suits Large models, not Small-11.
      await page.fill("#opt-image-size", "200");
      assert.match(await page.textContent("#model-hint"), /Large model/);
      await page.fill("#opt-image-size", "32");
      assert.equal(await page.textContent("#model-hint"), "");

      await page.selectOption("#opt-depth", "11");
      await trainQuickly(page);

      await page.click("#evaluate");
      await page.waitForSelector("#evaluate-status[data-state=done]", { state: "attached", timeout: 5 * 60_000 });
      assert.ok(await page.isVisible("#evaluation"));
      const map = Number(await page.getAttribute("#evaluation", "data-map"));
      assert.ok(Number.isFinite(map) && map >= 0 && map <= 1, `mAP ${map}`);
      const summary = await page.textContent("#evaluation-summary");
      assert.match(summary, /ResNetV2-Small-11 on sample\.zip: 60 images/);
      assert.match(summary, /mAP [01]\.\d{3} · macro ROC-AUC/);
      const labels = await page.$$eval("#evaluation-table tbody tr", (rows) =>
        rows.map((r) => ({ label: r.dataset.label, f1: Number(r.dataset.f1) })));
      assert.deepEqual(labels.map((l) => l.label), ["digit_0", "digit_1", "digit_2", "digit_3"]);
      for (const l of labels) assert.ok(l.f1 >= 0 && l.f1 <= 1, JSON.stringify(l));
      assert.ok(await page.isHidden("#error"), "no error shown");

      // A dataset without the model's labels: a readable error, and the page stays usable.
      const png = readFileSync(join(FIXTURES, "digit.png"));
      const other = zipOf({ "index.csv": "image,cat\na.png,1\nb.png,0\n", "a.png": png, "b.png": png });
      await page.setInputFiles("#dataset-file", { name: "cats.zip", mimeType: "application/zip", buffer: other });
      await page.waitForFunction(() => document.querySelector("#summary-text").textContent.startsWith("cats.zip"));
      await page.click("#evaluate");
      await page.waitForSelector("#evaluate-status[data-state=failed]", { state: "attached" });
      assert.equal(await page.textContent("#error-title"), "Cannot evaluate the model");
      assert.match(await page.textContent("#error-message"), /digit_0/);
      assert.ok(await page.isEnabled("#evaluate"), "another evaluation can be tried");
      assert.ok(await page.isEnabled("#train"));
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
