// A saved run is hostile input too (issue #32): a run file in the browser's storage that was
// cut short, edited, or is another file altogether is refused in words when the page opens;
// the page offers to discard it, and then trains a new run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backendOf, loadSample, openApp, trainQuickly } from "./harness.mjs";

/** Reads or writes `tagtrain/run/state.bin`, the autosaved run file, in the page's storage. */
const runFile = {
  read: (page) => page.evaluate(async () => {
    const origin = await navigator.storage.getDirectory();
    const run = await (await origin.getDirectoryHandle("tagtrain")).getDirectoryHandle("run");
    const file = await (await run.getFileHandle("state.bin")).getFile();
    return [...new Uint8Array(await file.arrayBuffer())];
  }),
  write: (page, bytes) => page.evaluate(async (bytes) => {
    const origin = await navigator.storage.getDirectory();
    const run = await (await origin.getDirectoryHandle("tagtrain")).getDirectoryHandle("run");
    const writable = await (await run.getFileHandle("state.bin")).createWritable();
    await writable.write(new Uint8Array(bytes));
    await writable.close();
  }, bytes),
};

test("a cut, edited or foreign saved run is refused in words, can be discarded, and a new run trains",
  { timeout: 20 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    try {
      const { page } = app;
      assert.equal(await backendOf(page), "cpu");
      await loadSample(page);
      await page.fill("#opt-image-size", "32");
      // Enough epochs that the run is still going when the page closes after the first save: an
      // epoch of the sample takes well under a second on the CPU page, so the saved epoch may be
      // 1 or a later one, and it is read rather than assumed.
      await page.fill("#opt-epochs", "60");
      await page.fill("#opt-batch-size", "8");
      await page.click("#train");
      await page.waitForFunction(() =>
        Number(document.querySelector("#train-status")?.dataset.autosavedEpoch ?? 0) >= 1,
      null, { timeout: 10 * 60_000 });
      await page.close();

      const next = await app.newPage();
      await backendOf(next);
      await next.waitForSelector("#resume-run[data-epoch]");
      const savedEpoch = await next.getAttribute("#resume-run", "data-epoch");
      assert.ok(Number(savedEpoch) >= 1 && Number(savedEpoch) < 60, `saved after epoch ${savedEpoch}`);
      const good = await runFile.read(next);
      const edited = good.slice();
      for (let i = 8; i < 64; i++) edited[i] ^= 0x5a;
      const foreign = [...new TextEncoder().encode("PK\u0003\u0004 not a run file at all")];
      // Edited or foreign: its header says so as the page opens. Cut short past its header (only
      // the header is read to describe a saved run): resuming says so, in the same place.
      for (const [what, bytes] of [["edited", edited], ["foreign", foreign], ["cut", good.slice(0, good.length >> 1)]]) {
        await runFile.write(next, bytes);
        await next.reload();
        await backendOf(next);
        await next.waitForSelector("#resume-run:not([hidden])");
        if (what === "cut") {
          await next.waitForSelector(`#resume-run[data-epoch='${savedEpoch}']`);
          await next.click("#resume");
          await next.waitForSelector("#train-status[data-state=failed]", { timeout: 5 * 60_000 });
          await next.waitForSelector("#resume-run:not([hidden])");
          // The error area says it too; the page goes on.
          await next.click("#error-close");
        }
        await next.waitForFunction(() => /cannot be resumed/.test(document.querySelector("#resume-text").textContent));
        const text = await next.textContent("#resume-text");
        assert.match(text, /This saved run cannot be resumed: \S.{10,}/, `${what}: ${text}`);
        assert.doesNotMatch(text, /unreachable|RuntimeError|undefined|panicked/, `${what}: ${text}`);
        if (what !== "cut") assert.ok(await next.isDisabled("#resume"), `${what}: resume is not offered`);
      }

      // Discard it; the page keeps working: a new run trains to the end.
      await next.click("#discard-run");
      await next.waitForSelector("#resume-run[hidden]", { state: "attached" });
      await loadSample(next);
      await next.fill("#opt-image-size", "32");
      await trainQuickly(next);
      await next.reload();
      await backendOf(next);
      assert.ok(await next.isHidden("#resume-run"), "nothing left to resume");
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
