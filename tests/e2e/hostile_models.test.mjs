// Model files are hostile input (issue #32), in the predict package in a real page: every
// edited file of scripts/hostile-models.mjs's corpus is refused by `Model.load` with a readable
// `Error` (never a trap, never a promise that does not settle); afterwards a good model still
// loads and predicts in the same page; a disposed model says so; label names holding markup are
// shown as text by the example page, never run.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { hostileModels } from "../../scripts/hostile-models.mjs";
import { FIXTURES, openApp } from "./harness.mjs";

const GOOD = join(FIXTURES, "library-v1", "m1-digits", "model.safetensors");
const DIGIT = join(FIXTURES, "digit.png");

test("the predict package refuses every edited model file in words and keeps working",
  { timeout: 5 * 60_000 }, async () => {
    const good = new Uint8Array(readFileSync(GOOD));
    // Into the page as base64: an array of numbers per file made the hand-over alone take a minute.
    const base64 = (bytes) => Buffer.from(bytes).toString("base64");
    const cases = hostileModels(good);
    assert.ok(cases.length >= 25, `the corpus has ${cases.length} files`);
    const app = await openApp({ webgpu: false, path: "example/" });
    const { page } = app;
    try {
      const outcomes = await page.evaluate(async ({ cases, good, digit }) => {
        const { Model } = await import("../predict/index.js");
        const bytesOf = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const settle = (promise) => Promise.race([promise.then(() => "settled", (e) => e),
          new Promise((resolve) => setTimeout(() => resolve("did not settle in 20 s"), 20_000))]);
        const outcomes = [];
        for (const c of cases) {
          const loaded = await settle(Model.load(bytesOf(c.bytes)).then((m) => { m.dispose(); }));
          outcomes.push({
            name: c.name,
            good: c.good,
            isError: loaded instanceof Error,
            message: loaded instanceof Error ? loaded.message : String(loaded),
          });
        }
        // The same page, afterwards: a good model loads and predicts; once disposed, it says so.
        const model = await Model.load(bytesOf(good));
        const predictions = await model.predict(bytesOf(digit));
        model.dispose();
        const afterDispose = await model.predict(bytesOf(digit)).then(() => "predicted", (e) => e.message);
        return { outcomes, predictions, afterDispose };
      }, {
        cases: cases.map(({ name, good: isGood, bytes }) => ({ name, good: isGood, bytes: base64(bytes) })),
        good: base64(good),
        digit: base64(readFileSync(DIGIT)),
      });

      for (const o of outcomes.outcomes) {
        if (o.good) {
          assert.equal(o.message, "settled", `${o.name} is a good file and loads`);
          continue;
        }
        assert.ok(o.isError, `${o.name}: Model.load gave ${o.message}`);
        assert.ok(o.message.length > 10, `${o.name}: '${o.message}'`);
        assert.doesNotMatch(o.message, /unreachable|null pointer|RuntimeError|undefined/,
          `${o.name}: '${o.message}' is not words a page author understands`);
      }
      assert.equal(outcomes.predictions.length, 4);
      for (const p of outcomes.predictions) assert.ok(p.probability >= 0 && p.probability <= 1, JSON.stringify(p));
      assert.match(outcomes.afterDispose, /disposed/);

      // Markup in label names is text on the page, never run.
      const markup = cases.find((c) => c.name === "markup-in-labels");
      await page.setInputFiles("#model-file", { name: "markup.safetensors", mimeType: "application/octet-stream",
        buffer: Buffer.from(markup.bytes) });
      await page.waitForSelector("body[data-model=ready]");
      await page.setInputFiles("#image-file", DIGIT);
      await page.waitForSelector("body[data-predicted='digit.png']");
      const shown = await page.$$eval("#bars li", (items) => items.map((li) => li.textContent));
      assert.ok(shown.some((t) => t.includes("<img src=x")), `the label is shown as text: ${shown}`);
      assert.equal(await page.$$eval("#bars img", (imgs) => imgs.length), 0);
      assert.notEqual(await page.title(), "pwned");
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
