// Issue #12, the page side: choose the labels to train on, look through the dataset's images, and
// see what the model learned and where it fails (curves with the threshold in force, false
// positives and negatives that follow the sliders, the most wrong images, one image's detail
// and heat map, the report). CPU page: the quickest to train on.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, openApp } from "./harness.mjs";
import { LABELS, reviewDataset } from "./review_data.mjs";

/** The dataset's labels trained here: two of the corner labels and the rare one are left out. */
const TRAINED = ["red", "green", "white"];

/** A label's row of the per-label table as numbers. */
const rowOf = (page, table, label) => page.$eval(`${table} tbody tr[data-label="${label}"]`, (r) => ({
  precision: Number(r.dataset.precision), recall: Number(r.dataset.recall), support: Number(r.dataset.support),
  threshold: Number(r.dataset.threshold),
}));

/** The error lists as shown: their counts and their images. */
const errorsShown = (page) => page.evaluate(() => {
  const list = (id) => {
    const ul = document.querySelector(id);
    return {
      count: Number(ul.dataset.count),
      images: [...ul.querySelectorAll("li")].map((li) => ({
        name: li.dataset.name, labels: JSON.parse(li.dataset.labels), probability: Number(li.dataset.probability),
      })),
    };
  };
  const area = document.querySelector("#errors");
  return { label: area.dataset.label, threshold: Number(area.dataset.threshold), fp: list("#errors-fp"), fn: list("#errors-fn") };
});

/**
 * The error counts the per-label table implies: true positives are recall × support, false
 * negatives the rest of the support, false positives what precision adds to the true positives.
 */
function countsFromTable({ precision, recall, support }) {
  const tp = Math.round(recall * support);
  return { tp, fn: support - tp, fp: tp > 0 ? Math.round(tp / precision - tp) : null };
}

/** Waits until the worker's answer for the slider at `value` is shown everywhere. */
async function waitForThreshold(page, label, value) {
  await page.waitForFunction(({ label, value }) => {
    const near = (x) => Math.abs(Number(x) - value) < 1e-4;
    const errors = document.querySelector("#errors");
    const row = document.querySelector(`#metrics-table tbody tr[data-label="${label}"]`);
    return errors.dataset.state === "done" && near(errors.dataset.threshold) && row && near(row.dataset.threshold);
  }, { label, value }, { timeout: 60_000 });
}

/** Sets a threshold slider as a person drags it: its value, then an input event. */
async function moveSlider(page, label, value) {
  await page.$eval(`#threshold-table tr[data-label="${label}"] input`, (slider, v) => {
    slider.value = String(v);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
}

/** Whether `x` appears in the report's text, as a person would read it. */
const mentions = (text, x) => [x.toFixed(4), x.toFixed(3), x.toFixed(2), `${(100 * x).toFixed(1)}%`].some((s) => text.includes(s));

test("labels chosen, the dataset's images, and where the model fails, following the thresholds",
  { timeout: 20 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    const { zip, rows } = reviewDataset();
    try {
      assert.equal(await backendOf(page), "cpu");
      await page.setInputFiles("#dataset-file", { name: "corners.zip", mimeType: "application/zip", buffer: zip });
      await page.waitForSelector("#summary:not([hidden])");

      // The summary: groups kept whole, the byte-identical pair, the rare label's note.
      assert.equal(await page.getAttribute("#summary-groups", "data-groups"), "24");
      assert.equal(await page.getAttribute("#summary-duplicates", "data-sets"), "1");
      await page.click("#summary-duplicates summary");
      assert.match(await page.textContent("#summary-duplicates li"), /img000\.png = dup\.png|dup\.png = img000\.png/);
      assert.deepEqual(await page.$$eval("#label-choices input", (xs) => xs.map((x) => [x.dataset.label, x.checked])),
        LABELS.map((l) => [l, true]), "every label is chosen at first");
      assert.ok(await page.isVisible('#label-choices li[data-label="rare"] .label-note'), "the rare label is flagged");
      assert.equal(await page.locator("#label-choices .label-note").count(), 1, "only the rare label is");

      // None chosen: Train is refused, and says why.
      await page.click("#labels-none");
      assert.ok(await page.isDisabled("#train"));
      assert.ok(await page.isVisible("#train-refusal"));
      await page.click("#labels-all");
      assert.ok(await page.isEnabled("#train"));
      assert.ok(await page.isHidden("#train-refusal"));
      for (const label of LABELS.filter((l) => !TRAINED.includes(l))) {
        await page.uncheck(`#label-choices input[data-label="${label}"]`);
      }
      assert.equal(await page.getAttribute("#label-picker", "data-chosen"), "3");

      // The gallery, before any run: pages of 48, a label filter; no split to filter by yet.
      await page.waitForSelector("#gallery-grid[data-state=done]");
      assert.equal(await page.getAttribute("#gallery-grid", "data-total"), String(rows.length));
      assert.equal(await page.getAttribute("#gallery-grid", "data-pages"), String(Math.ceil(rows.length / 48)));
      assert.equal(await page.locator("#gallery-grid li").count(), 48);
      assert.ok(await page.isDisabled("#gallery-split"), "no run has split the images yet");
      assert.ok(await page.isDisabled("#gallery-prev"));
      const firstPage = await page.$$eval("#gallery-grid li", (xs) => xs.map((x) => x.dataset.name));
      await page.click("#gallery-next");
      await page.waitForSelector('#gallery-grid[data-state=done][data-page="1"]');
      const secondPage = await page.$$eval("#gallery-grid li", (xs) => xs.map((x) => x.dataset.name));
      assert.equal(secondPage.length, 48);
      assert.ok(secondPage.every((name) => !firstPage.includes(name)), "the next page shows other images");
      assert.match(await page.textContent("#gallery-page"), /page 2 of 3/);
      await page.selectOption("#gallery-label", "blue");
      await page.waitForSelector('#gallery-grid[data-state=done][data-page="0"]');
      const blue = rows.filter((r) => r.labels.includes("blue")).length;
      assert.equal(await page.getAttribute("#gallery-grid", "data-total"), String(blue));
      const shownLabels = await page.$$eval("#gallery-grid li", (xs) => xs.map((x) => JSON.parse(x.dataset.labels)));
      assert.ok(shownLabels.length > 0 && shownLabels.every((ls) => ls.includes("blue")), "every image shown carries blue");
      const thumb = await page.$eval("#gallery-grid canvas.thumb", (c) => [c.width, c.height]);
      assert.ok(thumb[0] > 0 && thumb[1] > 0, `a thumbnail is drawn: ${thumb}`);

      // Train on the three labels chosen.
      await page.fill("#opt-image-size", "16");
      await page.selectOption("#opt-depth", "11");
      await page.fill("#opt-epochs", "5");
      await page.fill("#opt-batch-size", "16");
      await page.fill("#opt-learning-rate", "0.005");
      await page.click("#train");
      await page.waitForSelector("#train-status[data-state=done]", { timeout: 15 * 60_000 });
      assert.deepEqual(JSON.parse(await page.getAttribute("#train-labels", "data-labels")), TRAINED);
      assert.ok(Number(await page.getAttribute("#train-duplicates", "data-sets")) >= 1,
        "the identical pair is pixel-identical at the training size too");
      assert.deepEqual(JSON.parse(await page.getAttribute("#model-info", "data-labels")), TRAINED);
      assert.deepEqual(await page.$$eval("#threshold-table tbody tr", (xs) => xs.map((x) => x.dataset.label)), TRAINED);

      // One truth: the per-label table is the review's, at the tuned thresholds.
      await page.waitForSelector("#review:not([hidden])");
      assert.equal(await page.getAttribute("#review", "data-source"), "validation");
      const validImages = Number(await page.getAttribute("#review", "data-images"));
      assert.ok(validImages > 0);
      assert.equal(await page.getAttribute("#metrics-table", "data-source"), "validation");
      assert.match(await page.textContent("#metrics-caption"), /at the thresholds in force/);
      assert.deepEqual(await page.$$eval("#metrics-table tbody tr", (xs) => xs.map((x) => x.dataset.label)), TRAINED);
      const sliders = await page.$$eval("#threshold-table input[type=range]", (xs) => xs.map((x) => Number(x.value)));
      const tableThresholds = await page.$$eval("#metrics-table tbody tr", (xs) => xs.map((x) => Number(x.dataset.threshold)));
      sliders.forEach((t, j) => assert.ok(Math.abs(t - tableThresholds[j]) < 0.005, `${t} vs ${tableThresholds[j]}`));

      // The gallery now knows each image's side of the split.
      await page.waitForSelector("#gallery-split:not([disabled])");
      await page.selectOption("#gallery-label", "");
      await page.selectOption("#gallery-split", "valid");
      await page.waitForFunction(() => {
        const grid = document.querySelector("#gallery-grid");
        return grid.dataset.state === "done" && [...grid.querySelectorAll("li")].every((li) => li.dataset.split === "valid");
      });
      assert.equal(Number(await page.getAttribute("#gallery-grid", "data-total")), validImages);
      // A validation image opens the model's view of it.
      const validName = await page.getAttribute("#gallery-grid li", "data-name");
      await page.click("#gallery-grid li button");
      await page.waitForSelector(`#image-detail[data-state=done][data-name="${validName}"]`);
      await page.waitForSelector("#detail-heat[data-state=done]", { timeout: 60_000 });

      // The curves of red, with the threshold in force.
      // The first label's views come without asking.
      const label = "red";
      await page.waitForSelector(`#errors[data-state=done][data-label="${label}"]`);
      await page.waitForSelector("#most-wrong[data-state=done]");
      await page.selectOption("#review-label", "green");
      await page.waitForSelector('#errors[data-state=done][data-label="green"]');
      assert.equal(await page.getAttribute("#curve-pr", "data-label"), "green");
      await page.selectOption("#review-label", label);
      await page.waitForSelector(`#errors[data-state=done][data-label="${label}"]`);
      const pr = await page.$eval("#curve-pr", (c) => ({ ...c.dataset }));
      assert.ok(Number(pr.points) >= 2, "the precision–recall curve has points");
      assert.ok(Number(await page.getAttribute("#curve-roc", "data-points")) >= 2);
      const stats = await page.$eval("#curve-stats", (p) => ({ ap: Number(p.dataset.ap), rocAuc: Number(p.dataset.rocAuc) }));
      assert.ok(stats.ap >= 0 && stats.ap <= 1 && stats.rocAuc >= 0 && stats.rocAuc <= 1, JSON.stringify(stats));
      const tuned = await rowOf(page, "#metrics-table", label);
      assert.ok(Math.abs(Number(pr.precision) - tuned.precision) < 1e-4 && Math.abs(Number(pr.recall) - tuned.recall) < 1e-4,
        `the point drawn is the table's: ${JSON.stringify(pr)} vs ${JSON.stringify(tuned)}`);

      // The error lists are what the table counts.
      const checkErrors = async () => {
        const row = await rowOf(page, "#metrics-table", label);
        const shown = await errorsShown(page);
        const implied = countsFromTable(row);
        assert.equal(shown.fn.count, implied.fn, `false negatives of ${JSON.stringify(row)}`);
        if (implied.fp != null) assert.equal(shown.fp.count, implied.fp, `false positives of ${JSON.stringify(row)}`);
        for (const [list, carries] of [[shown.fp, false], [shown.fn, true]]) {
          assert.equal(list.images.length, Math.min(list.count, 24), "each list shows its images up to the limit");
          for (const image of list.images) {
            assert.equal(image.labels.includes(label), carries, `${image.name} in the wrong list`);
            assert.equal(image.probability >= shown.threshold, !carries, `${image.name} at ${image.probability}`);
          }
        }
        const fp = shown.fp.images.map((i) => i.probability);
        const fn = shown.fn.images.map((i) => i.probability);
        assert.deepEqual(fp, [...fp].sort((a, b) => b - a), "false positives: most confident first");
        assert.deepEqual(fn, [...fn].sort((a, b) => a - b), "false negatives: most confident first");
        return shown;
      };
      const atTuned = await checkErrors();

      // A low threshold: more false positives, fewer false negatives; the point moves.
      await moveSlider(page, label, 0.005);
      assert.equal(await page.getAttribute("#curve-pr", "data-threshold"), "0.005", "the point follows the slider at once");
      await waitForThreshold(page, label, 0.005);
      const low = await checkErrors();
      assert.ok(low.fp.count >= atTuned.fp.count && low.fn.count <= atTuned.fn.count, JSON.stringify({ atTuned, low }));
      const prLow = await page.$eval("#curve-pr", (c) => ({ ...c.dataset }));
      assert.ok(prLow.precision !== pr.precision || prLow.recall !== pr.recall, "the threshold's point moved");
      assert.ok(Number(prLow.recall) >= Number(pr.recall));
      // A high one: the other way.
      await moveSlider(page, label, 0.995);
      await waitForThreshold(page, label, 0.995);
      const high = await checkErrors();
      assert.ok(high.fp.count <= low.fp.count && high.fn.count >= low.fn.count, JSON.stringify({ low, high }));
      assert.ok(high.fp.count !== low.fp.count || high.fn.count !== low.fn.count, "the lists changed with the threshold");
      await page.waitForSelector("#most-wrong[data-state=done]");
      assert.ok(Number(await page.getAttribute("#most-wrong", "data-count")) > 0);
      const losses = await page.$$eval("#most-wrong li", (xs) => xs.map((x) => Number(x.dataset.loss)));
      assert.deepEqual(losses, [...losses].sort((a, b) => b - a), "most wrong first");

      // An image's detail: every label's probability against its truth, and its heat map.
      const errorList = high.fn.count > 0 ? "#errors-fn" : "#errors-fp";
      const clicked = await page.getAttribute(`${errorList} li`, "data-name");
      await page.click(`${errorList} li button`);
      await page.waitForSelector(`#image-detail[data-state=done][data-name="${clicked}"]`);
      assert.ok(await page.isVisible("#image-detail"));
      const detail = await page.$$eval("#detail-table tbody tr", (xs) => xs.map((x) => ({
        label: x.dataset.label, truth: x.dataset.truth === "true", positive: x.dataset.positive === "true",
      })));
      assert.deepEqual(detail.map((d) => d.label), TRAINED);
      const mine = detail.find((d) => d.label === label);
      assert.equal(mine.truth, errorList === "#errors-fn");
      assert.notEqual(mine.truth, mine.positive, "the image is a mistake on the label looked at");
      const truth = rows.find((r) => r.name === clicked).labels;
      for (const d of detail) assert.equal(d.truth, truth.includes(d.label), `${clicked}: ${d.label}`);
      await page.waitForSelector("#detail-heat[data-state=done]", { timeout: 60_000 });
      assert.equal(await page.getAttribute("#detail-heat", "data-label"), label);
      const heat = "#detail-heat canvas.heat-overlay";
      assert.ok(await page.$eval(heat, (c) => c.width > 0 && c.height > 0));
      assert.ok(await page.isVisible(heat));
      await page.uncheck("#detail-heat .heat-toggle");
      assert.ok(await page.isHidden(heat), "the heat map is switched off");
      await page.check("#detail-heat .heat-toggle");
      assert.ok(await page.isVisible(heat));
      await page.$eval("#detail-heat .heat-opacity", (slider) => {
        slider.value = "0.3";
        slider.dispatchEvent(new Event("input", { bubbles: true }));
      });
      assert.equal(await page.$eval(heat, (c) => getComputedStyle(c).opacity), "0.3");
      await page.selectOption("#detail-heat .heat-label", "white");
      await page.waitForSelector('#detail-heat[data-state=done][data-label="white"]', { timeout: 60_000 });

      // The report, with the per-label numbers shown.
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#report-download")]);
      assert.equal(download.suggestedFilename(), "tagtrain-report.html");
      const reportPath = join(app.downloads, "report.html");
      await download.saveAs(reportPath);
      const report = readFileSync(reportPath, "utf8");
      assert.match(report, /<html/i);
      for (const l of TRAINED) {
        assert.ok(report.includes(l), `the report names ${l}`);
        const row = await rowOf(page, "#metrics-table", l);
        assert.ok(mentions(report, row.precision) && mentions(report, row.recall), `${l}'s numbers: ${JSON.stringify(row)}`);
      }

      // Opened with no network, the report shows the same per-label numbers, its thumbnails
      // decoded from the file itself.
      await app.context.setOffline(true);
      const viewer = await app.context.newPage();
      await viewer.setContent(report, { waitUntil: "load" });
      for (const l of TRAINED) {
        const cells = await viewer.$$eval(`table.labels tr[data-label="${l}"] td`, (tds) => tds.map((t) => t.textContent));
        const row = await rowOf(page, "#metrics-table", l);
        assert.equal(Number(cells[2]).toFixed(3), row.precision.toFixed(3), `${l}: precision`);
        assert.equal(Number(cells[3]).toFixed(3), row.recall.toFixed(3), `${l}: recall`);
        assert.equal(Number(cells[7]), row.support, `${l}: support`);
      }
      const pictures = await viewer.$$eval("img", (xs) => xs.map((x) => x.complete && x.naturalWidth));
      assert.ok(pictures.length > 0 && pictures.every((w) => w > 0), `thumbnails shown: ${pictures}`);
      await viewer.close();
      await app.context.setOffline(false);

      // Evaluate: every view is now measured on the whole dataset.
      await page.click("#evaluate");
      await page.waitForSelector("#evaluate-status[data-state=done]", { state: "attached", timeout: 5 * 60_000 });
      await page.waitForSelector("#review[data-source=evaluation]");
      assert.equal(await page.getAttribute("#review", "data-images"), String(rows.length));
      assert.equal(await page.getAttribute("#evaluation", "data-images"), String(rows.length));
      assert.match(await page.textContent("#review-caption"), new RegExp(`all ${rows.length} images`));
      const evaluated = await rowOf(page, "#evaluation-table", label);
      assert.deepEqual(await rowOf(page, "#metrics-table", label), evaluated, "one truth: both tables are the review");
      await page.waitForSelector("#errors[data-state=done]");
      await checkErrors();

      assert.ok(await page.isHidden("#error"), `no error shown: ${await page.textContent("#error-message")}`);
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
