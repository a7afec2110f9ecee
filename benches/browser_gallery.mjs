// How responsive the dataset gallery is on a large dataset, run by hand, never in CI: a fresh
// CPU page loads a dataset zip, then the time to show the first page of thumbnails, the next
// page, a label filter's first page and the last page is measured as a person sees it (from the
// click until the page's grid says it is drawn). Thumbnails are decoded from the zip, one page
// (48 images) at a time, whatever the dataset's size.
//
//   bash scripts/build-web.sh
//   node benches/browser_gallery.mjs DATA.zip
//
// Prints Markdown table rows for BENCHMARKS.md.
import { openApp } from "../tests/e2e/harness.mjs";

const zip = process.argv[2];
const app = await openApp({ webgpu: false });
const { page } = app;
await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });

/** Milliseconds from `act()` until the grid shows page `pageIndex` drawn. */
async function timed(act, pageIndex) {
  const started = Date.now();
  await act();
  await page.waitForSelector(`#gallery-grid[data-state=done][data-page="${pageIndex}"]`, { timeout: 600_000 });
  return Date.now() - started;
}

const loadStarted = Date.now();
await page.setInputFiles("#dataset-file", zip);
await page.waitForSelector("#summary:not([hidden])", { timeout: 600_000 });
const loadMs = Date.now() - loadStarted;
const firstMs = await timed(async () => {}, 0);
const total = Number(await page.getAttribute("#gallery-grid", "data-total"));
const pages = Number(await page.getAttribute("#gallery-grid", "data-pages"));
const nextMs = await timed(() => page.click("#gallery-next"), 1);
const labels = await page.$$eval("#gallery-label option", (xs) => xs.map((x) => x.value).filter(Boolean));
const filterMs = await timed(() => page.selectOption("#gallery-label", labels[0]), 0);
const filtered = Number(await page.getAttribute("#gallery-grid", "data-total"));
await page.selectOption("#gallery-label", "");
await page.waitForSelector('#gallery-grid[data-state=done][data-page="0"]');
// The last page: its own control when there is one, else pages of "next".
const lastMs = await page.$("#gallery-last")
  ? await timed(() => page.click("#gallery-last"), pages - 1)
  : null;
const name = zip.split("/").pop();
console.log(`| ${name} | ${total} images | summary shown after ${loadMs} ms | first page ${firstMs} ms | next page ${nextMs} ms |` +
  ` filter '${labels[0]}' (${filtered} images) ${filterMs} ms |` + (lastMs == null ? "" : ` last page (${pages}) ${lastMs} ms |`));
if (app.problems.length) console.log("problems:", app.problems);
await app.close();
