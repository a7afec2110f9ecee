// Writes the README's screenshots of building and cleaning a dataset to docs/screenshots/: the
// labelling grid (a page of the sample with its label switches, a selection), a webcam capture
// (Chromium's fake camera) and the label-error gallery with the change log. Needs the built app
// (scripts/build-web.sh) and Chromium, like the browser tests.
// Usage: node scripts/screenshots-dataset.mjs
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadSample, openApp, ROOT } from "../tests/e2e/harness.mjs";

const OUT = join(ROOT, "docs", "screenshots");
mkdirSync(OUT, { recursive: true });
const app = await openApp({ webgpu: false, camera: true });
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
  await loadSample(page);
  await page.waitForSelector("#gallery-grid[data-state=done]");
  await page.check("#gallery-edit");
  await page.waitForSelector("#gallery-grid li .chip");
  // Two images selected, the third in focus.
  await page.focus("#gallery-grid li:nth-child(1)");
  await page.keyboard.press(" ");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press(" ");
  await page.keyboard.press("ArrowRight");
  await page.evaluate(() => { document.querySelector("#gallery-grid").style.maxHeight = "34rem"; document.querySelector("#gallery-grid").style.overflow = "hidden"; });
  await shoot("#gallery", "labelling");
  await page.keyboard.press("Escape");

  await page.click("#webcam summary");
  await page.click("#webcam-start");
  await page.waitForSelector("#webcam-capture:not([disabled])");
  await page.check("#webcam-labels input >> nth=0");
  await page.click("#webcam-capture");
  await page.waitForSelector("#webcam-status[data-captured='1']");
  await shoot("#webcam", "webcam");
  await page.click("#webcam-stop");

  await page.fill("#opt-image-size", "16");
  await page.selectOption("#opt-depth", "11");
  await page.fill("#opt-batch-size", "8");
  await page.fill("#clean-folds", "3");
  await page.fill("#clean-epochs", "4");
  await page.click("#find-label-errors");
  await page.waitForSelector("#clean-status[data-state=done]", { timeout: 20 * 60_000 });
  await page.click("#suspects li:first-child .accept");
  await page.waitForSelector("#changes:not([hidden])");
  await page.evaluate(() => { document.querySelector("#suspects").style.maxHeight = "26rem"; document.querySelector("#suspects").style.overflow = "hidden"; });
  await shoot("#cleaning", "label-errors");
  if (app.problems.length) throw new Error(`the page reported problems: ${app.problems.join("; ")}`);
} finally {
  await app.close();
}
