// Writes the README's screenshots of the evaluation views to docs/screenshots/: the labels
// picker, the gallery, the curves, the error galleries, an image's heat map and the report. It
// loads the sample dataset (www/sample), trains a few quick epochs and photographs each view.
// Needs the built app (scripts/build-web.sh) and Chromium, like the browser tests.
// Usage: node scripts/screenshots.mjs [--cpu]
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { backendOf, loadSample, openApp, ROOT } from "../tests/e2e/harness.mjs";

const OUT = join(ROOT, "docs", "screenshots");
mkdirSync(OUT, { recursive: true });
const app = await openApp({ webgpu: !process.argv.includes("--cpu") });
const { page } = app;

/** Photographs one element of the page into docs/screenshots/`name`.png. */
async function shoot(selector, name) {
  const element = page.locator(selector).first();
  await element.scrollIntoViewIfNeeded();
  await element.screenshot({ path: join(OUT, `${name}.png`) });
  console.log(`docs/screenshots/${name}.png`);
}

try {
  await page.setViewportSize({ width: 1100, height: 900 });
  console.log(`backend: ${await backendOf(page)}`);
  await loadSample(page);
  await page.waitForSelector("#gallery-grid[data-state=done]");
  await shoot("#label-picker", "labels");
  await shoot("#gallery", "gallery");

  await page.fill("#opt-image-size", "32");
  await page.selectOption("#opt-depth", "11");
  await page.fill("#opt-epochs", "4");
  await page.fill("#opt-batch-size", "8");
  await page.fill("#opt-learning-rate", "0.003");
  await page.click("#train");
  await page.waitForSelector("#train-status[data-state=done]", { timeout: 20 * 60_000 });
  await page.waitForSelector("#errors[data-state=done]");
  await page.waitForSelector("#most-wrong[data-state=done]");
  await shoot("#metrics-table", "metrics");
  await shoot("#review .curves", "curves");
  await shoot("#errors", "errors");
  await shoot("#most-wrong", "most-wrong");

  // An image's detail with its heat map: the most wrong one.
  await page.click("#most-wrong li button");
  await page.waitForSelector("#detail-heat[data-state=done]", { timeout: 120_000 });
  await shoot("#image-detail", "heat-map");

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#report-download")]);
  const path = join(app.downloads, "report.html");
  await download.saveAs(path);
  // The report is one self-contained file: shown from its own bytes, as a reader opens it.
  const report = await app.context.newPage();
  await report.setViewportSize({ width: 1000, height: 1200 });
  await report.setContent(readFileSync(path, "utf8"));
  await report.screenshot({ path: join(OUT, "report.png") });
  console.log("docs/screenshots/report.png");
  if (app.problems.length) console.error(`problems on the page:\n${app.problems.join("\n")}`);
} finally {
  await app.close();
}
