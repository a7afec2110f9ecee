// The journey of a person with sound clips, shared by the WebGPU and CPU tests (issue #33):
// *Try the sound sample* → the summary in clips → spectrograms in the gallery that play → the
// spectrogram settings changed → train → the model says what it hears with → predict a clip
// (its heat map is on the spectrogram) → the CLI and the predict package predict the same from
// the downloaded model (CLI ≡ page ≡ package, 1e-4) →
// an image given to the sound model is refused in words and the page goes on working.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { backendOf, FIXTURES, openApp, ROOT, shownPredictions, unzip } from "./harness.mjs";
import { toneSequence, wavOf } from "./sound_model.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tagtrain-target");
const binary = join(targetDir, "release", "tagtrain");
export const SOUND_SAMPLE = join(ROOT, "www", "sample", "sounds.zip");

/** Clip `name` of the bundled sound sample, written to `dir`; returns its path. */
export function sampleClip(dir, name) {
  const path = join(dir, name);
  writeFileSync(path, unzip(readFileSync(SOUND_SAMPLE))[name]);
  return path;
}

/** Spread of a canvas's grey levels (0 for a blank or one-colour canvas). */
const canvasSpread = (canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let [min, max] = [255, 0];
  for (let i = 0; i < data.length; i += 4) {
    min = Math.min(min, data[i]);
    max = Math.max(max, data[i]);
  }
  return max - min;
};

export async function soundJourney({ webgpu }) {
  assert.ok(existsSync(binary), `${binary} is built by \`cargo test --release\` (scripts/test.sh runs it first)`);
  const dir = mkdtempSync(join(tmpdir(), "tagtrain-sound-"));
  const app = await openApp({ webgpu });
  const { page } = app;
  try {
    assert.equal(await backendOf(page), webgpu ? "webgpu" : "cpu");
    await page.click("#try-sound-sample");
    await page.waitForSelector("#summary:not([hidden])");
    assert.equal(await page.getAttribute("#summary", "data-kind"), "sounds");
    const summary = await page.textContent("#summary-text");
    assert.match(summary, /^sounds\.zip: 48 clips, 0\.\d\d s to 2\.\d\d s long \(median 1\.\d\d s/);
    assert.match(summary, /Ogg Vorbis \(\d+\)/);
    assert.match(summary, /MP3 \(\d+\)/);
    assert.match(summary, /FLAC \(\d+\)/);
    assert.match(summary, /mono \(\d+\), stereo \(\d+\)/);
    assert.match(summary, /6 labels\. Clip paths from column “audio”/);
    assert.equal(await page.locator("#label-counts tbody tr").count(), 6);

    // The gallery: each clip's spectrogram, drawn (not blank), and a button that plays the clip.
    await page.waitForSelector("#gallery-grid[data-state=done]");
    assert.equal(await page.locator("#gallery-grid li").count(), 48);
    const spreads = await page.$$eval("#gallery-grid li canvas", (canvases, spread) =>
      canvases.slice(0, 6).map((c) => new Function(`return (${spread})`)()(c)), canvasSpread.toString());
    for (const s of spreads) assert.ok(s > 60, `a spectrogram thumbnail has contrast: ${spreads}`);
    const first = page.locator("#gallery-grid li").first();
    const firstName = await first.getAttribute("data-name");
    await first.locator(".play").click();
    await page.waitForFunction(() => {
      const audio = /** @type {HTMLAudioElement} */ (document.querySelector("#gallery-audio"));
      return audio.readyState >= 1 && audio.duration > 0;
    });
    const played = await page.$eval("#gallery-audio", (a) => ({
      name: a.dataset.name, type: a.dataset.mediaType, duration: a.duration, hidden: a.hidden,
    }));
    assert.equal(played.name, firstName);
    assert.equal(played.type, { ogg: "audio/ogg", mp3: "audio/mpeg", flac: "audio/flac" }[firstName.split(".").pop()]);
    assert.ok(played.duration > 0.7 && played.duration < 2.2, `the browser decoded the clip: ${played.duration} s`);
    assert.ok(!played.hidden);

    // The spectrogram settings, chosen from the clips; photos' options are not offered.
    assert.ok(await page.isVisible("#sound-options"));
    assert.ok(await page.isHidden("#opt-resize"), "no resize policy for spectrograms");
    assert.ok(await page.isHidden("#opt-flip"), "clips are not mirrored");
    assert.equal(await page.inputValue("#opt-clip-seconds"), "1.4", "the median clip, rounded");
    assert.equal(await page.inputValue("#opt-sample-rate"), "16000");
    assert.equal(await page.inputValue("#opt-window"), "512");
    assert.equal(await page.inputValue("#opt-mel-bands"), "64");
    assert.match(await page.textContent("#sound-hint"),
      /the median clip is 1\.\d\d s.*up to 10 minutes long, 96 kHz and 32 channels/, "the choice and the limits, shown");
    await page.fill("#opt-clip-seconds", "1.2");
    await page.fill("#opt-mel-bands", "32");
    await page.check("#opt-masks");
    await page.fill("#opt-image-size", "32");
    await page.selectOption("#opt-depth", "11");
    await page.fill("#opt-epochs", "3");
    await page.fill("#opt-batch-size", "8");
    await page.click("#train");
    await page.waitForSelector("#train-status[data-state=done]", { timeout: 15 * 60_000 });
    assert.match(await page.textContent("#train-status"), /Done: \d+ steps at [\d.]+ clips\/s/);
    const info = await page.textContent("#model-info");
    assert.match(info, /ResNetV2-Small-11, 6 labels, 32 px input, for sound clips \(1\.2 s windows at 16000 Hz, 32 mel bands from 20 to 8000 Hz\)/);
    assert.match(info, /3 epochs on \d+ clips/);
    assert.equal(await page.getAttribute("#model-info", "data-kind"), "sounds");

    // The report's thumbnails are the clips' spectrograms, drawn from the file itself.
    await page.waitForSelector("#report-download:not([disabled])");
    const [saved] = await Promise.all([page.waitForEvent("download"), page.click("#report-download")]);
    const reportPath = join(dir, "report.html");
    await saved.saveAs(reportPath);
    const report = readFileSync(reportPath, "utf8");
    assert.match(report, /sample_\d{4}\.(ogg|mp3|flac)/, "the report names clips");
    const viewer = await app.context.newPage();
    await viewer.setContent(report, { waitUntil: "load" });
    const pictures = await viewer.$$eval("img", (xs) => xs.map((x) => x.complete && x.naturalWidth));
    assert.ok(pictures.length > 0 && pictures.every((w) => w > 0), `spectrogram thumbnails shown: ${pictures}`);
    await viewer.close();

    // A clip predicted: it plays in the panel, every label gets a probability.
    const clip = sampleClip(dir, "sample_0001.ogg");
    await page.setInputFiles("#predict-file", clip);
    const shown = await shownPredictions(page);
    assert.deepEqual(shown.map((p) => p.label).sort(), ["beeps", "hum", "noise", "sweep", "whistle", "word"]);
    assert.ok(await page.isVisible("#predict-audio"));
    assert.ok(await page.isHidden("#predict-preview"));
    // Where the model listened: the heat map over the clip's spectrogram.
    await page.click("#predict-heat-area summary");
    await page.waitForSelector("#predict-heat[data-state=done]", { timeout: 120_000 });
    const [imageSpread, heatSpread] = await page.$$eval("#predict-heat canvas", (cs, spread) =>
      cs.map((c) => new Function(`return (${spread})`)()(c)), canvasSpread.toString());
    assert.ok(imageSpread > 60, `the clip's spectrogram is drawn (spread ${imageSpread})`);
    assert.ok(heatSpread > 0, `the heat map over it is drawn (spread ${heatSpread})`);

    // The downloaded model predicts the same clip alike in the CLI.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const model = join(dir, "sounds.safetensors");
    await download.saveAs(model);
    const [cli] = JSON.parse(execFileSync(binary, ["predict", model, clip, "--json"], { encoding: "utf8" }));
    const expected = Object.fromEntries(cli.predictions.map((p) => [p.label, p.probability]));
    for (const p of shown) {
      assert.ok(Math.abs(p.probability - expected[p.label]) <= 1e-4,
        `${p.label}: page ${p.probability}, CLI ${expected[p.label]}`);
    }

    // And the predict package (www/predict/) in another page, on the same file's bytes.
    await app.context.route("**/test-files/*", (route) => route.fulfill({
      body: readFileSync({ "model.safetensors": model, "clip.ogg": clip }[route.request().url().split("/").pop()]),
      contentType: "application/octet-stream",
    }));
    const host = await app.newPage("example/");
    const packaged = await host.evaluate(async () => {
      const { Model } = await import("/predict/index.js");
      const model = await Model.load("/test-files/model.safetensors");
      const clipBytes = new Uint8Array(await (await fetch("/test-files/clip.ogg")).arrayBuffer());
      const predictions = await model.predict(clipBytes);
      return { kind: model.kind, predictions };
    });
    assert.equal(packaged.kind, "sounds");
    const byPackage = Object.fromEntries(packaged.predictions.map((p) => [p.label, p.probability]));
    for (const p of shown) {
      assert.ok(Math.abs(p.probability - byPackage[p.label]) <= 1e-4,
        `${p.label}: page ${p.probability}, predict package ${byPackage[p.label]}`);
    }
    await host.close();

    // A recording longer than the window is also shown window by window, as the CLI's
    // `--windows` scores it (one window of the model's length every window).
    const recording = join(dir, "recording.wav");
    writeFileSync(recording, wavOf([toneSequence(4.5, 16_000)], 16_000));
    await page.setInputFiles("#predict-file", recording);
    await shownPredictions(page);
    await page.waitForSelector("#predict-timeline[data-state=done]:not([hidden])", { timeout: 120_000 });
    const rows = await page.$$eval("#predict-windows tbody tr", (trs) => trs.map((tr) => ({
      start: Number(tr.dataset.start),
      cells: [...tr.querySelectorAll("td[data-label]")].map((td) =>
        ({ label: td.dataset.label, probability: Number(td.dataset.probability) })),
    })));
    const [cliWindows] = JSON.parse(execFileSync(binary, ["predict", model, recording, "--windows", "1.2", "--json"],
      { encoding: "utf8" }));
    assert.equal(rows.length, 4, "4.5 s in windows of 1.2 s");
    assert.equal(cliWindows.windows.length, 4);
    // The page steps by the model's window (1.2 in 32 bits), the CLI by the 1.2 it was given.
    rows.forEach((row, k) => assert.ok(Math.abs(row.start - cliWindows.windows[k].startSeconds) < 1e-6,
      `window ${k} starts at ${row.start} s in the page, ${cliWindows.windows[k].startSeconds} s in the CLI`));
    rows.forEach((row, k) => {
      const cli = Object.fromEntries(cliWindows.windows[k].labels.map((p) => [p.label, p.probability]));
      assert.equal(row.cells.length, 6);
      for (const c of row.cells) {
        assert.ok(Math.abs(c.probability - cli[c.label]) <= 1e-4, `window ${k}, ${c.label}: page ${c.probability}, CLI ${cli[c.label]}`);
      }
    });
    // A clip no longer than the window has no timeline.
    await page.setInputFiles("#predict-file", clip);
    await page.waitForSelector("#predict-timeline[data-state=done]", { state: "attached", timeout: 120_000 });
    assert.ok(await page.isHidden("#predict-timeline"));

    // An image is refused in words; the page still predicts clips.
    await page.setInputFiles("#predict-file", join(FIXTURES, "digit.png"));
    await page.waitForSelector("#predictions[data-state=failed]");
    assert.match(await page.textContent("#error-message"), /trained on sound clips/);
    await page.setInputFiles("#predict-file", clip);
    const again = await shownPredictions(page);
    assert.deepEqual(again, shown);
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
