// Prediction throughput in the page (run by hand, never in CI): the predict package
// (www/predict/) against the full training module (www/pkg/), same model, same images, on the
// CPU, one image at a time, in headless Chromium.
//
//   cargo build --release && bash scripts/build-web.sh && bash scripts/build-predict.sh
//   node benches/browser_predict.mjs [--size 64] [--images 200]
//
// The model is a Small-11 trained for one epoch by the CLI on the bundled sample at `--size`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, openApp } from "../tests/e2e/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const size = option("--size", "64");
const count = Number(option("--images", "200"));
const binary = join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tagtrain-target"), "release", "tagtrain");
const dir = mkdtempSync(join(tmpdir(), "tagtrain-predict-bench-"));
const modelPath = join(dir, "model.safetensors");
execFileSync(binary, ["train", join(FIXTURES, "smoke_mnist32.zip"), "-o", modelPath, "--epochs", "1",
  "--image-size", size, "--quiet"], { stdio: ["ignore", "ignore", "inherit"] });

const app = await openApp({ webgpu: false });
const result = await app.page.evaluate(async ({ model, image, count }) => {
  /** Calls per second of `predict`, over `n` calls after one to warm up. */
  const time = async (predict, n = count) => {
    await predict();
    const start = performance.now();
    for (let i = 0; i < n; i++) await predict();
    return n / ((performance.now() - start) / 1000);
  };
  const { Model } = await import("/predict/index.js");
  const packaged = await Model.load(new Uint8Array(model));
  const bytes = new Uint8Array(image);
  const png = new Blob([bytes], { type: "image/png" });
  const bitmap = await createImageBitmap(png);
  const pkgBytes = await time(() => packaged.predict(bytes));
  const pkgBitmap = await time(() => packaged.predict(bitmap));
  const batch = Array.from({ length: 32 }, () => bytes);
  const pkgBatch = 32 * (await time(() => packaged.predictBatch(batch), Math.max(1, Math.round(count / 32))));
  const full = await import("/pkg/tagtrain.js");
  await full.default();
  await full.initBackend({ prefer: "cpu" });
  const predictor = full.Predictor.fromBytes(new Uint8Array(model));
  const fullBytes = await time(() => predictor.predict(bytes));
  return { pkgBytes, pkgBitmap, pkgBatch, fullBytes };
}, { model: [...readFileSync(modelPath)], image: [...readFileSync(join(FIXTURES, "digit.png"))], count });

console.log(`| predict package, PNG bytes, one at a time (Small-11, ${size} px) | ${result.pkgBytes.toFixed(1)} images/s |`);
console.log(`| predict package, ImageBitmap, one at a time | ${result.pkgBitmap.toFixed(1)} images/s |`);
console.log(`| predict package, predictBatch of 32 PNGs (one forward pass) | ${result.pkgBatch.toFixed(1)} images/s |`);
console.log(`| full training module (CPU), PNG bytes, one at a time | ${result.fullBytes.toFixed(1)} images/s |`);
if (app.problems.length) console.log("problems:", app.problems);
await app.close();
rmSync(dir, { recursive: true, force: true });
