// A pretrained start in the page (issue #37): on the sample (grayscale digits, repeated into
// RGB) the page trains EfficientNet-Lite0 from its ImageNet weights — the new head alone on
// features computed once, then the top of the network too — on the CPU and on WebGPU, shows
// the model, predicts; the downloaded model file predicts the same in the predict package
// (≤ 1e-4), and the weights came from the app's own server (kept offline with the app).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, shownPredictions } from "./harness.mjs";

const TOLERANCE = 1e-4;

async function trainPretrained(page, layers) {
  await page.selectOption("#opt-start", "pretrained");
  assert.ok(await page.isVisible("#opt-train-layers"), "the layers to train are offered");
  assert.ok(await page.isHidden("#opt-depth"), "a pretrained start has no depth to choose");
  assert.equal(await page.inputValue("#opt-image-size"), "224", "the weights' own size first");
  // Small enough for SwiftShader; the page lets a person lower it.
  await page.fill("#opt-image-size", "32");
  await page.selectOption("#opt-train-layers", layers);
  await page.fill("#opt-epochs", "2");
  await page.fill("#opt-batch-size", "8");
  await page.fill("#opt-learning-rate", "0.01");
  await page.click("#train");
  // A second run: the first one's "done" goes first.
  await page.waitForSelector("#train-status:not([data-state=done])");
  await page.waitForSelector("#train-status[data-state=done]", { timeout: 15 * 60_000 });
  assert.match(await page.textContent("#model-info"), /EfficientNet-Lite0, 4 labels, 32 px/);
  const epochs = await page.$$eval("#epoch-history tbody tr", (rows) => rows.map((r) => Number(r.dataset.map)));
  assert.equal(epochs.length, 2);
  for (const map of epochs) assert.ok(map >= 0 && map <= 1, `mAP ${map}`);
}

async function pretrainedJourney({ webgpu, expectBackend }) {
  const app = await openApp({ webgpu, bypassCSP: true });
  const { page } = app;
  const weightRequests = [];
  page.on("request", (request) => {
    if (request.url().includes("efficientnet-lite0")) weightRequests.push(new URL(request.url()).pathname);
  });
  try {
    assert.equal(await backendOf(page), expectBackend);
    await loadSample(page);
    await trainPretrained(page, "head");
    assert.ok(weightRequests.every((p) => p === "/pretrained/efficientnet-lite0.safetensors"),
      `the weights come from the app: ${weightRequests}`);
    await trainPretrained(page, "top");

    const image = join(FIXTURES, "digit.png");
    await page.setInputFiles("#predict-file", image);
    const shown = await shownPredictions(page);
    assert.equal(shown.length, 4);
    const widths = await page.$$eval("#predictions li .track > *", (bars) => bars.map((b) => b.getBoundingClientRect().width));
    assert.ok(widths.some((w) => w > 0), "the bars are drawn");

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const model = [...readFileSync(await download.path())];
    const packaged = await page.evaluate(async ({ model, image }) => {
      const { Model } = await import("/predict/index.js");
      const m = await Model.load(new Uint8Array(model));
      const out = { architecture: m.metadata.architecture, predictions: await m.predict(new Uint8Array(image)) };
      m.dispose();
      return out;
    }, { model, image: [...readFileSync(image)] });
    assert.equal(packaged.architecture.kind, "efficientnet-lite0");
    assert.equal(packaged.architecture.inChannels, 1, "grayscale digits, repeated into RGB");
    const expected = Object.fromEntries(shown.map((p) => [p.label, p.probability]));
    for (const p of packaged.predictions) {
      assert.ok(Math.abs(p.probability - expected[p.label]) <= TOLERANCE,
        `${p.label}: package ${p.probability}, page ${expected[p.label]}`);
    }
    assert.ok(await page.isHidden("#error"), "no error shown");
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
  }
}

test("pretrained start on the CPU: head alone, then the top; the package predicts the same",
  { timeout: 20 * 60_000 }, () => pretrainedJourney({ webgpu: false, expectBackend: "cpu" }));

test("pretrained start on WebGPU: head alone, then the top; the package predicts the same",
  { timeout: 20 * 60_000 }, () => pretrainedJourney({ webgpu: true, expectBackend: "webgpu" }));
