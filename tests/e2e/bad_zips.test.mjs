// Bad dataset zips dropped on the page: each gives a readable, located error, and the page keeps
// working afterwards.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { backendOf, FIXTURES, openApp, zipOf } from "./harness.mjs";

const png = readFileSync(join(FIXTURES, "digit.png"));
const good = zipOf({ "index.csv": "image,cat\na.png,1\nb.png,0\n", "a.png": png, "b.png": png });

/** A PNG whose header claims `w × h` pixels (with a tiny, empty IDAT). */
function pngHeaderOnly(w, h) {
  const chunk = (type, body) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([head, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr),
    chunk("IDAT", Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk("IEND", Buffer.alloc(0))]);
}

const CASES = [
  {
    name: "not-a-zip.zip",
    bytes: Buffer.from("these are not the bytes of a zip archive, just some text"),
    expect: [/not a readable zip archive/],
  },
  {
    name: "no-index.zip",
    bytes: zipOf({ "notes.txt": "no images here", "docs/readme.md": "nor here" }),
    expect: [/no index\.csv in the zip \(2 entries\), and no image or sound clip in a label folder/],
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
  { name: "truncated.zip", bytes: good.subarray(0, good.length >> 1), expect: [/not a readable zip archive/] },
  {
    name: "bomb.zip",
    // A listed "image" of 64 MiB of zeros, deflated about 1000:1.
    bytes: zipOf({ "index.csv": "image,cat\nbomb.png,1\n", "bomb.png": Buffer.alloc(64 << 20) }, { deflate: true }),
    expect: [/zip entry .bomb\.png. \(a zip bomb\?\): compression ratio/, /over the limit/],
  },
  { name: "empty-csv.zip", bytes: zipOf({ "index.csv": "", "a.png": png }), expect: [/index\.csv line 1/, /empty/] },
  { name: "header-only.zip", bytes: zipOf({ "index.csv": "image,cat\n", "a.png": png }), expect: [/no rows/] },
  {
    name: "huge-image.zip",
    bytes: zipOf({ "index.csv": "image,cat\nhuge.png,1\n", "huge.png": pngHeaderOnly(30000, 30000) }),
    expect: [/image .huge\.png./, /over the limit/],
  },
  {
    name: "corrupt-image.zip",
    bytes: zipOf({ "index.csv": "image,cat\nbad.png,1\n", "bad.png": png.subarray(0, 20) }),
    expect: [/image .bad\.png. cannot be decoded/],
  },
];

// Odd but valid: each loads and shows its summary.
const ODD = [
  { name: "semicolons-bom-crlf.zip", bytes: zipOf({ "index.csv": "\ufeffimage;cat\r\na.png;1\r\nb.png;0\r\n", "a.png": png, "b.png": png }) },
  { name: "wrapped.zip", bytes: zipOf({ "data/index.csv": "image,cat\n./img/a.png,1\nimg\\b.png,0\n", "data/img/a.png": png, "data/img/b.png": png, "__MACOSX/data/._a.png": "x" }) },
];

test("bad zips give located errors and the page keeps working", { timeout: 5 * 60_000 }, async () => {
  const app = await openApp({ webgpu: true });
  const { page } = app;
  try {
    await backendOf(page);
    for (const c of CASES) {
      await page.setInputFiles("#dataset-file", { name: c.name, mimeType: "application/zip", buffer: c.bytes });
      await page.waitForSelector("#error:not([hidden])", { timeout: 10_000 }).catch(async (e) => {
        throw new Error(`${c.name}: no error shown; the page says "${await page.textContent("#summary-text")}"`, { cause: e });
      });
      const title = await page.textContent("#error-title");
      const message = await page.textContent("#error-message");
      assert.match(title, new RegExp(c.name.replace(".", "\\.")), title);
      for (const pattern of c.expect) assert.match(message, pattern, `${c.name}: ${message}`);
      assert.ok(await page.isDisabled("#train"), "nothing to train on after a bad zip");
      await page.click("#error-close");
      assert.ok(await page.isHidden("#error"));
    }
    // Images with no labels at all are no error: the page asks for the labels to give them.
    await page.setInputFiles("#dataset-file", { name: "loose.zip", mimeType: "application/zip",
      buffer: zipOf({ "images/a.png": png, "images/b.png": png }) });
    await page.waitForSelector("#unlabelled:not([hidden])");
    assert.match(await page.textContent("#unlabelled-text"), /loose\.zip holds 2 images and no labels/);
    assert.ok(await page.isHidden("#error"));
    assert.ok(await page.isDisabled("#train"), "nothing to train on before the labels are named");
    for (const c of ODD) {
      await page.setInputFiles("#dataset-file", { name: c.name, mimeType: "application/zip", buffer: c.bytes });
      await page.waitForFunction((name) => document.querySelector("#summary-text").textContent.startsWith(name), c.name);
      assert.match(await page.textContent("#summary-text"), /2 images, 1 labels/);
      assert.ok(await page.isHidden("#error"), `${c.name} loads without error`);
    }
    // The page still works: the sample loads and can be trained.
    await page.click("#try-sample");
    await page.waitForFunction(() => document.querySelector("#summary-text").textContent.startsWith("sample.zip"));
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
