// TF.js training the same network in the same headless Chromium (issue #35): run by hand,
// never in CI. ResNetV2-Small (Small-11 unless --depth) built in tf.layers with the layer
// shapes and parameter count of src/model/resnet.rs, trained on the first `batch × batches`
// images of a dataset zip (index.csv: `image`, then one 0/1 column a label) with a sigmoid
// cross-entropy loss through `optimizer.minimize` and `tf.train.adam` (TF.js has no AdamW;
// plain Adam, lr 1e-3, no weight decay), the loss read after every step as our page does. The
// images are decoded and resized in the page (createImageBitmap + OffscreenCanvas), normalised
// per channel; no augmentation. Images/s over the steps after the first `--warmup` (default 2:
// shader compilation); the figure since the first step, as our page counts, is printed too.
//
//   node benches/browser_tfjs_speed.mjs DATA.zip [--size 32] [--batch 64] [--steps 12]
//     [--backend webgl] [--warmup 2] [--batches 4] [--depth 11]
//
// TF.js 4.22 comes from benches/tfjs/package.json, installed into benches/tfjs/node_modules on
// first use (never by the root package.json or CI). Chromium is launched as
// benches/browser_train_speed.mjs launches it for the WebGPU page (tests/e2e/harness.mjs, with
// --enable-unsafe-webgpu); WebGL there is ANGLE on SwiftShader here, a software GPU. Fails on
// any page error or when the backend is not the one asked for. Prints one Markdown table row.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { openApp, unzip } from "../tests/e2e/harness.mjs";

const HERE = fileURLToPath(new URL("tfjs/", import.meta.url));
const zip = process.argv[2];
if (!zip || zip.startsWith("--")) {
  console.error("usage: node benches/browser_tfjs_speed.mjs DATA.zip [--size 32] [--batch 64] [--steps 12] [--backend webgl]");
  process.exit(2);
}
const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const size = Number(option("size", 32));
const batch = Number(option("batch", 64));
const steps = Number(option("steps", 12));
const warmup = Number(option("warmup", 2));
const batches = Number(option("batches", 4));
const depth = Number(option("depth", 11));
const backend = option("backend", "webgl");
if (!(steps > warmup)) throw new Error(`--steps ${steps} must exceed --warmup ${warmup}`);

if (!existsSync(join(HERE, "node_modules/@tensorflow/tfjs/dist/tf.min.js"))) {
  console.error("installing TF.js into benches/tfjs/node_modules (benches/tfjs/package.json)");
  execFileSync("npm", ["install", "--prefix", HERE, "--no-audit", "--no-fund", "--ignore-scripts"],
    { stdio: ["ignore", "inherit", "inherit"] });
}

// The first batch × batches rows of index.csv and their image files.
const files = unzip(readFileSync(zip));
const indexName = Object.keys(files).find((name) => posix.basename(name) === "index.csv");
if (!indexName) throw new Error(`${zip} has no index.csv`);
const [header, ...rows] = files[indexName].toString().split(/\r?\n/).filter((line) => line.trim());
const columns = header.split(",");
if (columns[0] !== "image") throw new Error(`index.csv's first column is ${columns[0]}, not image`);
const labels = columns.length - 1;
const wanted = rows.slice(0, batch * batches);
if (wanted.length < batch) throw new Error(`${zip} has ${wanted.length} images, fewer than a batch of ${batch}`);
const images = [];
const targets = [];
for (const row of wanted.slice(0, Math.floor(wanted.length / batch) * batch)) {
  const [path, ...values] = row.split(",");
  const name = posix.join(posix.dirname(indexName), path);
  if (!files[name]) throw new Error(`${zip}: ${name} is missing`);
  images.push(files[name].toString("base64"));
  targets.push(...values.map(Number));
}

/** tagtrain's parameter count for this network, as ResNetV2Config::footprint (src/model/footprint.rs) counts it: BatchNorm's running statistics included, as burn's num_params. */
function ours() {
  let parameters = 3 * 16 * 9;
  let input = 16;
  for (let s = 0; s < 3; s++) {
    for (let u = 0; u < (depth - 2) / 9; u++) {
      const width = 16 << s;
      const out = 4 * width;
      const stride = s > 0 && u === 0 ? 2 : 1;
      parameters += input * width + width * width * 9 + width * out;
      if (stride !== 1 || input !== out) parameters += input * out;
      parameters += 4 * (input + 2 * width);
      input = out;
    }
  }
  return parameters + 4 * input + (input + 1) * labels;
}

const app = await openApp({ webgpu: true, root: HERE, path: "index.html", bypassCSP: true });
let result;
try {
  await app.page.waitForFunction(() => typeof globalThis.runBench === "function" && typeof tf === "object",
    null, { timeout: 60_000 });
  result = await app.page.evaluate((args) => globalThis.runBench(args),
    { images, targets, labels, side: size, batch, steps, warmup, depth, backend, lr: 1e-3 });
} finally {
  await app.close();
}
const expected = ours();
console.error(`TF.js ${result.version} ${result.backend} (${result.renderer}): ${result.parameters} parameters `
  + `(${result.trainable} trainable + ${result.parameters - result.trainable} BatchNorm moving statistics); `
  + `tagtrain's ResNetV2-Small-${depth} for ${labels} labels: ${expected}`);
console.error(`losses: ${result.losses.map((l) => l.toFixed(4)).join(" ")}; step seconds: ${result.stepSeconds.map((t) => t.toFixed(2)).join(" ")}`);
if (app.problems.length) throw new Error(`the page had problems:\n${app.problems.join("\n")}`);
if (result.backend !== backend) throw new Error(`backend is ${result.backend}, not ${backend}`);
if (!result.losses.every(Number.isFinite)) throw new Error(`a loss is not finite: ${result.losses}`);
if (result.parameters !== expected) throw new Error(`parameter counts differ: TF.js ${result.parameters}, tagtrain ${expected}`);
const name = backend === "webgl" ? "WebGL" : backend;
console.log(`| ${zip.split("/").pop()} | TF.js ${result.version} ${name} (${result.renderer}) | ${size} px | Small-${depth} | batch ${batch} | ${steps} steps (the last ${steps - warmup} timed) | ${result.imagesPerSec.toFixed(2)} images/s | ${result.imagesPerSecAll.toFixed(2)} images/s since the first step |`);
