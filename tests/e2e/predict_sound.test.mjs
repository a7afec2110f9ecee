// @tagtrain/predict with a model of sound clips (issue #33), in a real page: a clip as a file,
// as raw samples and as an AudioBuffer gives the same probabilities; a long recording is scored
// window by window; bad input and a model of images given sound are refused in words; the example page listens to Chromium's fake microphone and its bars follow;
// without a microphone it says so and still predicts files.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FIXTURES, openApp } from "./harness.mjs";
import { CLIP_SECONDS, TAGTRAIN, channelsOfWav, toneSequence, trainSoundModel, wavOf } from "./sound_model.mjs";

/** Where one input and another, both the same samples, may differ. */
const SAME = 1e-4;

/** The largest difference of two lists of `{ label, probability }`, matched by label. */
function largestDifference(a, b) {
  assert.deepEqual(a.map((p) => p.label).sort(), b.map((p) => p.label).sort());
  return Math.max(...a.map((p) => Math.abs(p.probability - b.find((q) => q.label === p.label).probability)));
}

/** Serves `files` (`{ name: Buffer }`) at /test-files/NAME in the app's browser context. */
async function serveFiles(context, files) {
  await context.route("**/test-files/*", (route) => {
    const name = decodeURIComponent(new URL(route.request().url()).pathname.split("/").pop());
    const body = files[name];
    return body ? route.fulfill({ body, contentType: "application/octet-stream" }) : route.fulfill({ status: 404 });
  });
}

/** The bars of the example page: label, probability, and the fill's share of its track. */
function readBars(page) {
  return page.$$eval("#bars li", (items) => items.map((li) => ({
    label: li.dataset.label,
    probability: Number(li.dataset.probability),
    share: li.querySelector(".fill").getBoundingClientRect().width /
      li.querySelector(".track").getBoundingClientRect().width,
  })));
}

test("a sound model predicts files, samples, AudioBuffers and windows alike in the package; the example page listens",
  { timeout: 5 * 60_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tagtrain-sound-package-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const started = Date.now();
    const { modelPath } = trainSoundModel(dir);
    console.log(`# sound model trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // One stereo clip (its channels differ, so mixing to mono counts) at 22.05 kHz (resampled to
    // the model's 16 kHz), 1.5 s (longer than the window: its centre is heard).
    const rate = 22_050;
    const left = toneSequence(1.5, rate, 0.6);
    const right = toneSequence(1.5, rate, 0.2).map((s, i) => s + 0.1 * Math.sin(i / 7));
    const clip = wavOf([left, right], rate);
    // A long recording: 4.5 s of the sequence at 16 kHz, mono.
    const long = wavOf([toneSequence(4.5, 16_000)], 16_000);
    // A model of images, to be given sound.
    const imageModelPath = join(dir, "digits.safetensors");
    execFileSync(TAGTRAIN, ["train", join(FIXTURES, "smoke_mnist32.zip"), "-o", imageModelPath, "--epochs", "1",
      "--batch-size", "8", "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
    const files = { "model.safetensors": readFileSync(modelPath), "clip.wav": clip, "long.wav": long,
      "digit.png": readFileSync(join(FIXTURES, "digit.png")), "digits.safetensors": readFileSync(imageModelPath) };

    await t.test("the package: a file, its samples and an AudioBuffer of it, and windows", async () => {
      const app = await openApp({ webgpu: false, path: "example/" });
      try {
        await serveFiles(app.context, files);
        const got = await app.page.evaluate(async ({ channels, longChannels, rate }) => {
          const { Model } = await import("/predict/index.js");
          const bytes = async (name) => new Uint8Array(await (await fetch(`/test-files/${name}`)).arrayBuffer());
          const model = await Model.load("/test-files/model.safetensors");
          const clip = await bytes("clip.wav");
          const [l, r] = channels.map((c) => Float32Array.from(c));
          // Mono as the decoder mixes it: (left + right) × ½, in 32-bit floats.
          const mono = l.map((s, i) => Math.fround(Math.fround(s + r[i]) * 0.5));
          const buffer = new AudioBuffer({ numberOfChannels: 2, length: l.length, sampleRate: rate });
          buffer.copyToChannel(l, 0);
          buffer.copyToChannel(r, 1);
          // The browser's own decoding of the file, at its rate (no resampling by Web Audio).
          const decoded = await new OfflineAudioContext(2, l.length, rate).decodeAudioData(clip.slice().buffer);
          const long = await bytes("long.wav");
          const longSamples = Float32Array.from(longChannels[0]);
          const hop = 0.5;
          const refusal = async (call) => {
            try { await call(); return "no error"; } catch (e) { return e.message; }
          };
          return {
            kind: model.kind,
            sound: model.metadata.input.sound,
            labels: model.labels,
            file: await model.predict(new Blob([clip], { type: "audio/wav" })),
            bytes: await model.predict(clip),
            samples: await model.predictSamples(mono, rate),
            audioBuffer: await model.predict(buffer),
            decoded: await model.predict(decoded),
            firstWindowAlone: await model.predictSamples(longSamples.subarray(0, 16_000), 16_000),
            windows: await model.predictWindows(new Blob([long]), { hopSeconds: hop }),
            sampleWindows: await model.predictWindows({ samples: longSamples, sampleRate: 16_000 }, { hopSeconds: hop }),
            wholeWindows: await model.predictWindows(long),
            batch: await model.predictBatch([new Blob([clip]), clip]),
            refusals: {
              image: await refusal(async () => model.predict(await bytes("digit.png"))),
              pixels: await refusal(() => model.predict(new ImageData(8, 8))),
              nan: await refusal(() => model.predictSamples(new Float32Array([0.1, NaN]), 16_000)),
              rate: await refusal(() => model.predictSamples(mono, 22_050.5)),
              hop: await refusal(() => model.predictWindows(long, { hopSeconds: 0 })),
              float32AsFile: await refusal(() => model.predict(mono)),
              text: await refusal(() => model.predict(new TextEncoder().encode("not a sound"))),
            },
            imageModel: await (async () => {
              const images = await Model.load("/test-files/digits.safetensors");
              return {
                kind: images.kind,
                file: await refusal(() => images.predict(clip)),
                audioBuffer: await refusal(() => images.predict(buffer)),
                samples: await refusal(() => images.predictSamples(mono, rate)),
                windows: await refusal(() => images.predictWindows(long)),
              };
            })(),
          };
        }, { channels: channelsOfWav(clip), longChannels: channelsOfWav(long), rate });

        assert.equal(got.kind, "sounds");
        assert.equal(got.sound.clipSeconds, CLIP_SECONDS);
        assert.equal(got.file.length, got.labels.length);
        // The same samples by four roads: the file (Blob and bytes, decoded and mixed in Rust),
        // the samples mixed here, an AudioBuffer of the two channels (mixed in Rust), the
        // browser's decoding of the file.
        for (const road of ["bytes", "samples", "audioBuffer", "decoded"]) {
          const d = largestDifference(got.file, got[road]);
          assert.ok(d <= SAME, `${road}: ${d} from the file's probabilities`);
          console.log(`# ${road}: at most ${d.toExponential(2)} from the file's probabilities`);
        }
        for (const p of got.file) assert.ok(p.probability >= 0 && p.probability <= 1 && typeof p.positive === "boolean");

        // Sound files in a batch: each as alone.
        for (const one of got.batch) assert.ok(largestDifference(got.file, one) <= SAME);

        // Windows of 1 s every 0.5 s over 4.5 s: starts 0, 0.5, …, 3.5 (the last one that
        // reaches the end), each in the model's label order.
        assert.deepEqual(got.windows.map((w) => w.start), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
        for (const w of got.windows) {
          assert.equal(w.end, w.start + CLIP_SECONDS);
          assert.deepEqual(w.predictions.map((p) => p.label), got.labels);
        }
        // The file's windows and the samples' windows are the same samples (16 kHz, mono).
        for (const [i, w] of got.windows.entries()) {
          const d = largestDifference(w.predictions, got.sampleWindows[i].predictions);
          assert.ok(d <= SAME, `window ${i}: ${d} between the file and its samples`);
        }
        // The first window is the first second, heard alone.
        assert.ok(largestDifference(got.windows[0].predictions, got.firstWindowAlone) <= SAME);
        // The recording changes (hum, whistle, noise, sweep), and so do its windows' predictions.
        const spread = Math.max(...got.labels.map((label) => {
          const ps = got.windows.map((w) => w.predictions.find((p) => p.label === label).probability);
          return Math.max(...ps) - Math.min(...ps);
        }));
        assert.ok(spread > 1e-3, `the windows' predictions hardly change: ${spread}`);
        // Without a hop, windows follow one another: 0, 1, 2, 3, 4.
        assert.deepEqual(got.wholeWindows.map((w) => w.start), [0, 1, 2, 3, 4]);

        assert.match(got.refusals.image, /trained on sound clips/);
        assert.match(got.refusals.pixels, /sound/);
        assert.match(got.refusals.nan, /not a number/);
        assert.match(got.refusals.rate, /whole, positive number of samples per second/);
        assert.match(got.refusals.hop, /positive number of seconds/);
        assert.match(got.refusals.float32AsFile, /predictSamples/);
        assert.match(got.refusals.text, /not a sound clip/);
        // A model of images refuses sound, however it comes, in words.
        assert.equal(got.imageModel.kind, "images");
        for (const [road, message] of Object.entries(got.imageModel)) {
          if (road !== "kind") assert.match(message, /trained on images/, road);
        }
        assert.deepEqual(app.problems, []);
      } finally {
        await app.close();
      }
    });

    await t.test("the example page listens to the microphone, and its bars follow", async () => {
      // Chromium's fake microphone plays this file in a loop: 4 s of changing tones, 48 kHz.
      const microphoneWav = join(dir, "microphone.wav");
      writeFileSync(microphoneWav, wavOf([toneSequence(4, 48_000)], 48_000));
      const app = await openApp({ webgpu: false, path: "example/", audio: microphoneWav });
      const { page } = app;
      try {
        await page.setInputFiles("#model-file", modelPath);
        await page.waitForSelector("body[data-model=ready][data-kind=sounds]");
        assert.match(await page.textContent("#model-info"), /sound clips \(1 s windows at 16000 Hz\)/);
        assert.ok(await page.isHidden("#camera"), "a sound model has no camera button");
        await page.click("#listen");
        await page.waitForSelector("body[data-listening=on]");
        // The bars after each of 8 updates (a slow machine is given time: one a few seconds at
        // most), each a list of probabilities and bar widths.
        const readings = [];
        const updatesNow = async () => Number(await page.getAttribute("body", "data-updates") ?? 0);
        const started = Date.now();
        for (let seen = await updatesNow(), i = 0; i < 8; i++) {
          await page.waitForFunction((n) => Number(document.body.dataset.updates ?? 0) > n, seen, { timeout: 20_000 });
          seen = await updatesNow();
          readings.push(await readBars(page));
        }
        const seconds = (Date.now() - started) / 1000;
        for (const bars of readings) {
          assert.equal(bars.length, 6);
          for (const { label, probability, share } of bars) {
            assert.ok(probability >= 0 && probability <= 1, `${label}: ${probability}`);
            assert.ok(Math.abs(share - probability) <= 0.01, `${label}: a bar ${share} of its track for ${probability}`);
          }
        }
        const distinct = new Set(readings.map((bars) =>
          bars.map((b) => `${b.label}=${b.probability.toFixed(6)}`).sort().join(" ")));
        assert.ok(distinct.size >= 3, `the bars follow the sound: ${distinct.size} distinct readings of ${readings.length}`);
        console.log(`# microphone: ${readings.length} updates in ${seconds.toFixed(1)} s, ${distinct.size} distinct readings`);
        await page.click("#listen");
        await page.waitForSelector("body[data-listening=off]");
        assert.deepEqual(app.problems, []);
      } finally {
        await app.close();
      }
    });

    await t.test("without a microphone the example page says so and still predicts a file", async () => {
      const app = await openApp({ webgpu: false, path: "example/" });
      try {
        // No device: getUserMedia rejects as it does on a machine with no microphone.
        await app.context.addInitScript(() => {
          navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
        });
        const page = await app.newPage("example/");
        await page.setInputFiles("#model-file", modelPath);
        await page.waitForSelector("body[data-model=ready][data-kind=sounds]");
        await page.click("#listen");
        await page.waitForSelector("body[data-listening=unavailable]");
        assert.match(await page.textContent("#camera-note"), /No microphone \(NotFoundError\): drop or choose sound files/);
        const clipPath = join(dir, "clip.wav");
        writeFileSync(clipPath, clip);
        await page.setInputFiles("#image-file", clipPath);
        await page.waitForSelector("body[data-predicted='clip.wav']");
        const bars = await readBars(page);
        assert.equal(bars.length, 6);
        assert.ok(await page.isVisible("#preview-sound"), "the dropped clip can be played");
        assert.deepEqual(app.problems, []);
      } finally {
        await app.close();
      }
    });
  });
