// Milliseconds per call of the predict package, images and sound, for several builds of its
// module side by side (run by hand, never in CI): how BENCHMARKS.md "Sound" weighed the
// `predict` profile's optimisation levels. Each BUILD is a folder holding `predict/` (a copy of
// www/predict/ with its own pkg/); the script adds the models and inputs to each.
//
//   cargo build --release --bin tagtrain && bash scripts/build-predict.sh
//   node benches/browser_predict_builds.mjs DIR_A DIR_B …   (e.g. `www` alone)
//
// Models: a Small-11 at 96 px trained 1 epoch on the bundled sample; the browser tests' sound
// model (32 px, 1 s windows). Two rounds, each build in a fresh headless Chromium, CPU.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, openApp } from "../tests/e2e/harness.mjs";
import { TAGTRAIN, trainSoundModel } from "../tests/e2e/sound_model.mjs";

const builds = process.argv.slice(2);
if (builds.length === 0) throw new Error("usage: node benches/browser_predict_builds.mjs BUILD_DIR…");
const dir = mkdtempSync(join(tmpdir(), "tagtrain-builds-bench-"));
const imageModel = join(dir, "image96.safetensors");
execFileSync(TAGTRAIN, ["train", join(FIXTURES, "smoke_mnist32.zip"), "-o", imageModel, "--epochs", "1",
  "--image-size", "96", "--batch-size", "8", "--quiet"], { stdio: ["ignore", "ignore", "inherit"] });
const { modelPath: soundModel, clips } = trainSoundModel(join(dir, "sounds"));
const inputs = {
  "bench-image96.safetensors": imageModel,
  "bench-sound.safetensors": soundModel,
  "bench-digit.png": join(FIXTURES, "digit.png"),
  "bench-clip.mp3": clips.find((c) => c.endsWith(".mp3")),
  "bench-clip.ogg": clips.find((c) => c.endsWith(".ogg")),
};
for (const build of builds) for (const [name, path] of Object.entries(inputs)) copyFileSync(path, join(build, name));

for (const round of [1, 2]) {
  for (const build of builds) {
    const app = await openApp({ webgpu: false, root: build, path: "bench-digit.png" });
    const ms = await app.page.evaluate(async () => {
      const { Model } = await import("/predict/index.js");
      const bytes = async (name) => new Uint8Array(await (await fetch(name)).arrayBuffer());
      /** Mean milliseconds of `call` over `n` calls after two to warm up. */
      const time = async (n, call) => {
        for (let i = 0; i < 2; i++) await call();
        const start = performance.now();
        for (let i = 0; i < n; i++) await call();
        return Number(((performance.now() - start) / n).toFixed(2));
      };
      const images = await Model.load("/bench-image96.safetensors");
      const sounds = await Model.load("/bench-sound.safetensors");
      const [png, mp3, ogg] = await Promise.all(["/bench-digit.png", "/bench-clip.mp3", "/bench-clip.ogg"].map(bytes));
      const second = new Float32Array(48_000).map((_, i) => Math.sin(i / 10));
      return {
        "predict(png), 96 px": await time(10, () => images.predict(png)),
        "predictBatch(16 png), 96 px": await time(3, () => images.predictBatch(Array(16).fill(png))),
        "predict(mp3)": await time(10, () => sounds.predict(mp3)),
        "predict(ogg)": await time(10, () => sounds.predict(ogg)),
        "predictSamples(1 s at 48 kHz)": await time(10, () => sounds.predictSamples(second, 48_000)),
      };
    });
    console.log(`round ${round}, ${build}: ${JSON.stringify(ms)}`);
    await app.close();
  }
}
for (const build of builds) for (const name of Object.keys(inputs)) rmSync(join(build, name), { force: true });
rmSync(dir, { recursive: true, force: true });
