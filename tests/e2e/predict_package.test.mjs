// @tagtrain/predict (www/predict/, built by scripts/build-predict.sh) in a real page: a model
// trained by the CLI predicts the same probabilities (≤ 1e-5) in the package, from file bytes, a
// Blob, an <img>, ImageData and inside a module worker, as in the training page and the CLI; the
// example page (files, canvas, the camera); and the training page's "Export for the web" zip,
// served by a plain static server.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { serve } from "../../scripts/static-server.mjs";
import { FIXTURES, openApp, shownPredictions, unzip } from "./harness.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tagtrain-target");
const binary = join(targetDir, "release", "tagtrain");
const TOLERANCE = 1e-5;

test("the predict package gives the CLI's and the training page's numbers, everywhere",
  { timeout: 10 * 60_000 }, async () => {
    assert.ok(existsSync(binary), `${binary} is built by \`cargo test --release\``);
    const dir = mkdtempSync(join(tmpdir(), "tagtrain-package-"));
    const modelPath = join(dir, "model.safetensors");
    const imagePath = join(FIXTURES, "digit.png");
    execFileSync(binary, ["train", join(FIXTURES, "smoke_mnist32.zip"), "-o", modelPath, "--epochs", "2",
      "--batch-size", "8", "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
    const [cli] = JSON.parse(execFileSync(binary, ["predict", modelPath, imagePath, "--json"], { encoding: "utf8" }));
    const expected = Object.fromEntries(cli.predictions.map((p) => [p.label, p.probability]));
    const close = (got, where) => {
      assert.equal(got.length, cli.predictions.length, where);
      for (const p of got) {
        assert.ok(Math.abs(p.probability - expected[p.label]) <= TOLERANCE,
          `${where}, ${p.label}: ${p.probability}, CLI ${expected[p.label]}`);
      }
    };

    // The package's checks below load a model from a blob: URL and start a module worker from
    // a blob: URL, in the app's page; the app's Content-Security-Policy rightly refuses both
    // (the app does neither), so it is lifted for this test. Every other test runs under it.
    const app = await openApp({ webgpu: false, bypassCSP: true });
    const { page } = app;
    try {
      // The training page (CPU).
      await page.setInputFiles("#model-file", modelPath);
      await page.waitForFunction(() => /loaded from/.test(document.querySelector("#model-info").textContent));
      await page.setInputFiles("#predict-file", imagePath);
      close(await shownPredictions(page), "training page");

      // The package, on the page's main thread, from every kind of source.
      const model = [...readFileSync(modelPath)];
      const image = [...readFileSync(imagePath)];
      const got = await page.evaluate(async ({ model, image }) => {
        const { Model } = await import("/predict/index.js");
        const m = await Model.load(new Uint8Array(model));
        const png = new Blob([new Uint8Array(image)], { type: "image/png" });
        const url = URL.createObjectURL(png);
        const img = new Image();
        img.src = url;
        await img.decode();
        const bitmap = await createImageBitmap(png);
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const context = canvas.getContext("2d");
        context.drawImage(bitmap, 0, 0);
        const data = context.getImageData(0, 0, bitmap.width, bitmap.height);
        let refused = "";
        try { await Model.load(new TextEncoder().encode("not a model")); } catch (e) { refused = e.message; }
        const fromUrl = await Model.load(URL.createObjectURL(new Blob([new Uint8Array(model)])));
        const out = {
          labels: m.labels, inputSize: m.inputSize, resize: m.metadata.input.resize,
          bytes: await m.predict(new Uint8Array(image)),
          blob: await m.predict(png),
          img: await m.predict(img),
          imageData: await m.predict(data),
          bitmap: await m.predict(bitmap),
          batch: await fromUrl.predictBatch([png, data]),
          refused,
        };
        m.dispose();
        return out;
      }, { model, image });
      assert.deepEqual(got.labels, ["digit_0", "digit_1", "digit_2", "digit_3"]);
      assert.equal(got.inputSize, 32);
      assert.equal(got.resize, "stretch");
      for (const where of ["bytes", "blob", "img", "imageData", "bitmap"]) close(got[where], where);
      got.batch.forEach((b, i) => close(b, `batch[${i}]`));
      for (const p of got.bytes) {
        assert.equal(typeof p.threshold, "number");
        assert.equal(p.positive, p.probability >= p.threshold);
        assert.equal(p.present, p.positive, "the old name reads the same for one release");
      }
      assert.match(got.refused, /not a usable tagtrain model file/);

      // The package inside a module worker.
      const inWorker = await page.evaluate(async ({ model, image }) => {
        const source = `import { Model } from "${location.origin}/predict/index.js";
          onmessage = async ({ data }) => {
            const m = await Model.load(data.model);
            postMessage(await m.predict(new Blob([data.image], { type: "image/png" })));
          };`;
        const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
        const reply = new Promise((resolve, reject) => { worker.onmessage = (e) => resolve(e.data); worker.onerror = (e) => reject(new Error(e.message)); });
        worker.postMessage({ model: new Uint8Array(model), image: new Uint8Array(image) });
        const result = await reply;
        worker.terminate();
        return result;
      }, { model, image });
      close(inWorker, "worker");
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

test("the example page predicts dropped images and follows the camera, and says when there is none",
  { timeout: 10 * 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "tagtrain-example-"));
    const modelPath = join(dir, "model.safetensors");
    execFileSync(binary, ["train", join(FIXTURES, "smoke_mnist32.zip"), "-o", modelPath, "--epochs", "1",
      "--batch-size", "8", "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
    const [cli] = JSON.parse(execFileSync(binary, ["predict", modelPath, join(FIXTURES, "digit.png"), "--json"], { encoding: "utf8" }));
    const app = await openApp({ webgpu: false, path: "example/", camera: true });
    const { page } = app;
    try {
      await page.setInputFiles("#model-file", modelPath);
      await page.waitForSelector("body[data-model=ready]");
      assert.match(await page.textContent("#model-info"), /model\.safetensors: ResNetV2-Small-11, 4 labels, 32 px \(stretch\)/);
      await page.setInputFiles("#image-file", join(FIXTURES, "digit.png"));
      await page.waitForSelector("body[data-predicted='digit.png']");
      const bars = await page.$$eval("#bars li", (items) => items.map((li) => [li.dataset.label,
        Number(li.dataset.probability), li.querySelector(".fill").getBoundingClientRect(),
        li.querySelector(".track").getBoundingClientRect()]));
      assert.equal(bars.length, 4);
      for (const [label, probability, fill, track] of bars) {
        const expected = cli.predictions.find((p) => p.label === label).probability;
        assert.ok(Math.abs(probability - expected) <= TOLERANCE, `${label}: ${probability} vs CLI ${expected}`);
        // What a person sees: each bar's fill is drawn, as wide a share of its track as the
        // probability, and as tall as the track.
        assert.ok(track.width > 50, `${label}: the track is ${track.width} px wide`);
        assert.ok(Math.abs(fill.width - probability * track.width) <= 1.5,
          `${label}: the fill is ${fill.width} px of ${track.width} for ${probability}`);
        assert.ok(fill.height >= track.height - 0.5, `${label}: the fill is ${fill.height} px tall`);
      }

      // From a canvas, in this page: the same numbers.
      const fromCanvas = await page.evaluate(async (png) => {
        const { Model } = await import("../predict/index.js");
        const bitmap = await createImageBitmap(new Blob([new Uint8Array(png)], { type: "image/png" }));
        const canvas = document.createElement("canvas");
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        canvas.getContext("2d").drawImage(bitmap, 0, 0);
        const input = document.querySelector("#model-file").files[0];
        const model = await Model.load(input);
        return model.predict(canvas);
      }, [...readFileSync(join(FIXTURES, "digit.png"))]);
      for (const p of fromCanvas) {
        const expected = cli.predictions.find((q) => q.label === p.label).probability;
        assert.ok(Math.abs(p.probability - expected) <= TOLERANCE, `canvas, ${p.label}: ${p.probability} vs CLI ${expected}`);
      }

      // The camera: the bars are drawn again for frame after frame, and change with it.
      const updates = async () => Number(await page.getAttribute("body", "data-updates"));
      const before = await updates();
      await page.click("#camera");
      await page.waitForSelector("#video:not([hidden])");
      const snapshot = () => page.$$eval("#bars li", (items) => items.map((li) => li.dataset.probability).join());
      const seen = new Set();
      for (let i = 0; i < 120 && (seen.size < 2 || (await updates()) < before + 5); i++) {
        await page.waitForTimeout(250);
        seen.add(await snapshot());
      }
      assert.ok((await updates()) >= before + 5, `at least 5 live updates: ${(await updates()) - before}`);
      assert.ok(seen.size >= 2, `the bars follow the camera: ${seen.size} distinct readings`);
      await page.click("#camera");
      // Hidden for real (`[hidden]` wins over the page's display rules): attached, not visible.
      await page.waitForSelector("#video[hidden]", { state: "attached" });
      assert.ok(await page.isHidden("#video"));
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }

    // Without a camera the page says so and still predicts files.
    const plain = await openApp({ webgpu: false, path: "example/" });
    try {
      await plain.page.setInputFiles("#model-file", modelPath);
      await plain.page.waitForSelector("body[data-model=ready]");
      await plain.page.click("#camera");
      await plain.page.waitForFunction(() => /No camera/.test(document.querySelector("#camera-note").textContent));
      await plain.page.setInputFiles("#image-file", join(FIXTURES, "digit.png"));
      await plain.page.waitForSelector("body[data-predicted='digit.png']");
      assert.deepEqual(plain.problems, []);
    } finally {
      await plain.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

test("Export for the web: the zip, unzipped and served by a plain static server, predicts",
  { timeout: 10 * 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "tagtrain-export-"));
    const modelPath = join(dir, "model.safetensors");
    const imagePath = join(FIXTURES, "digit.png");
    execFileSync(binary, ["train", join(FIXTURES, "smoke_mnist32.zip"), "-o", modelPath, "--epochs", "1",
      "--batch-size", "8", "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
    const [cli] = JSON.parse(execFileSync(binary, ["predict", modelPath, imagePath, "--json"], { encoding: "utf8" }));
    const app = await openApp({ webgpu: false });
    const site = join(dir, "site");
    let server = null;
    try {
      const { page } = app;
      await page.setInputFiles("#model-file", modelPath);
      await page.waitForFunction(() => /loaded from/.test(document.querySelector("#model-info").textContent));
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-web")]);
      assert.equal(download.suggestedFilename(), "resnetv2-small-11-web.zip");
      const zipPath = join(dir, "export.zip");
      await download.saveAs(zipPath);
      assert.match(await page.textContent("#export-status"), /Exported resnetv2-small-11-web\.zip/);

      const files = unzip(readFileSync(zipPath));
      assert.deepEqual(Object.keys(files).sort(), ["README.txt", "example.css", "example.js", "index.html",
        "microphone-worklet.js", "microphone.js", "model.safetensors", "predict/README.md", "predict/index.d.ts", "predict/index.js", "predict/package.json",
        "predict/pkg/tagtrain_predict.js", "predict/pkg/tagtrain_predict_bg.wasm"]);
      assert.deepEqual(files["model.safetensors"], readFileSync(modelPath));
      for (const [name, bytes] of Object.entries(files)) {
        mkdirSync(dirname(join(site, name)), { recursive: true });
        writeFileSync(join(site, name), bytes);
      }

      // A plain static server of the unzipped folder, and a fresh page on it.
      server = await serve(site, 0);
      const exported = await page.context().newPage();
      const problems = [];
      exported.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
      exported.on("pageerror", (e) => problems.push(e.message));
      await exported.goto(`http://127.0.0.1:${server.address().port}/`);
      await exported.waitForSelector("body[data-model=ready]");
      assert.match(await exported.textContent("#model-info"), /^model\.safetensors: ResNetV2-Small-11, 4 labels/);
      await exported.setInputFiles("#image-file", imagePath);
      await exported.waitForSelector("body[data-predicted='digit.png']");
      const bars = await exported.$$eval("#bars li", (items) => items.map((li) => [li.dataset.label, Number(li.dataset.probability)]));
      assert.equal(bars.length, 4);
      for (const [label, probability] of bars) {
        const expected = cli.predictions.find((p) => p.label === label).probability;
        assert.ok(Math.abs(probability - expected) <= TOLERANCE, `${label}: ${probability} vs CLI ${expected}`);
      }
      assert.deepEqual(problems, []);
      assert.deepEqual(app.problems, []);
    } finally {
      server?.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
