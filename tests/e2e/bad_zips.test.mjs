// Bad dataset zips dropped on the page: each gives a readable, located error, and the page keeps
// working afterwards.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, openApp, zipOf } from "./harness.mjs";

const png = readFileSync(join(FIXTURES, "digit.png"));

const CASES = [
  {
    name: "not-a-zip.zip",
    bytes: Buffer.from("these are not the bytes of a zip archive, just some text"),
    expect: [/not a readable zip archive/],
  },
  {
    name: "no-index.zip",
    bytes: zipOf({ "images/a.png": png, "images/b.png": png }),
    expect: [/index\.csv/],
  },
  {
    name: "missing-image.zip",
    bytes: zipOf({ "index.csv": "image,cat\na.png,1\nb.png,0\n", "a.png": png }),
    expect: [/b\.png/, /line 3/],
  },
  {
    name: "value-two.zip",
    bytes: zipOf({ "index.csv": "image,cat,dog\na.png,1,0\nb.png,0,2\n", "a.png": png, "b.png": png }),
    expect: [/line 3/, /column .dog./, /value .2. is not 0 or 1/],
  },
  {
    name: "many-problems.zip",
    bytes: zipOf({ "index.csv": "image,cat\na.png,1\nA.PNG,0\nc.png,yes\nd.png,0\n", "a.png": png, "c.png": png }),
    expect: [/the dataset has 3 problems/, /line 3: image .A\.PNG. is not in the zip; did you mean .a\.png./,
      /line 4, column .cat.: the value .yes./, /line 5: image .d\.png. is not in the zip/],
  },
  {
    name: "traversal.zip",
    bytes: zipOf({ "index.csv": "image,cat\na.png,1\n", "a.png": png, "../../etc/evil.png": png }),
    expect: [/\.\.\/\.\.\/etc\/evil\.png/, /leaves the archive/],
  },
];

test("bad zips give located errors and the page keeps working", { timeout: 5 * 60_000 }, async () => {
  const app = await openApp({ webgpu: true });
  const { page } = app;
  try {
    await backendOf(page);
    for (const c of CASES) {
      await page.setInputFiles("#dataset-file", { name: c.name, mimeType: "application/zip", buffer: c.bytes });
      await page.waitForSelector("#error:not([hidden])");
      const title = await page.textContent("#error-title");
      const message = await page.textContent("#error-message");
      assert.match(title, new RegExp(c.name.replace(".", "\\.")), title);
      for (const pattern of c.expect) assert.match(message, pattern, `${c.name}: ${message}`);
      assert.ok(await page.isDisabled("#train"), "nothing to train on after a bad zip");
      await page.click("#error-close");
      assert.ok(await page.isHidden("#error"));
    }
    // The page still works: the sample loads and can be trained.
    await page.click("#try-sample");
    await page.waitForSelector("#summary:not([hidden])");
    assert.match(await page.textContent("#summary-text"), /60 images/);
    assert.ok(await page.isEnabled("#train"));
    // A bad zip after a good one keeps the good one selected.
    await page.setInputFiles("#dataset-file", { name: CASES[3].name, mimeType: "application/zip", buffer: CASES[3].bytes });
    await page.waitForSelector("#error:not([hidden])");
    assert.ok(await page.isEnabled("#train"), "the previous dataset is still usable");
    assert.match(await page.textContent("#dataset-status"), /previously loaded dataset/);
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
  }
});
