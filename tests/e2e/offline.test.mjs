// Offline and installable (issue #11): the service worker keeps the app, so with the server
// stopped and the browser offline the page still starts, trains the sample and predicts; the
// Content-Security-Policy refuses a request to another origin; the manifest and its icons make
// the app installable; and a new build waits until the person reloads into it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, loadSample, openApp, ROOT, shownPredictions, trainQuickly } from "./harness.mjs";

// A stale www/precache.js (a file changed since the build) makes the service worker refuse to
// install, by design; say so here rather than time out below.
execFileSync(process.execPath, [join(ROOT, "scripts", "precache.mjs"), "--check"], { stdio: "inherit" });

/** Waits until the service worker controls the page (it has cached every file by then). */
async function waitForServiceWorker(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 120_000 });
}

/** The width and height in a PNG's IHDR chunk (after its 8-byte signature and chunk header). */
function pngSize(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG signature");
  assert.equal(bytes.subarray(12, 16).toString("latin1"), "IHDR");
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

test("with the server stopped and the browser offline, the page starts, trains the sample and predicts",
  { timeout: 15 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      await waitForServiceWorker(page);
      app.stopServer();
      await app.context.setOffline(true);
      // Nothing answers on the server's port any more.
      await assert.rejects(fetch(app.base));

      await page.reload();
      assert.equal(await backendOf(page), "cpu");
      assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), "served by the service worker");
      await loadSample(page);
      assert.match(await page.textContent("#summary-text"), /60 images, 4 labels, 32×32 px/);
      await page.fill("#opt-image-size", "32");
      await page.selectOption("#opt-depth", "11");
      await trainQuickly(page);
      await page.setInputFiles("#predict-file", join(FIXTURES, "digit.png"));
      const predictions = await shownPredictions(page);
      assert.equal(predictions.length, 4, "every label gets a probability");
      for (const p of predictions) assert.ok(p.probability >= 0 && p.probability <= 1, JSON.stringify(p));
      // The preview is a blob: URL, which the policy allows.
      assert.match(await page.getAttribute("#predict-preview", "src"), /^blob:/);
      assert.ok(await page.evaluate(() => document.querySelector("#predict-preview").naturalWidth > 0), "the preview shows");
      assert.ok(await page.isHidden("#error"), "no error shown");
      assert.ok(await page.isHidden("#update-notice"), "no update offered: the build did not change");
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });

test("the Content-Security-Policy refuses a request to another origin, as meta and as header",
  { timeout: 5 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), "cpu");
      await waitForServiceWorker(page);
      assert.deepEqual(app.problems, [], "no console error in normal use");

      // The same server under another name is another origin: connect-src 'self' refuses it.
      const port = new URL(app.base).port;
      const other = `http://localhost:${port}/index.html`;
      const outcome = await page.evaluate(async (url) => {
        const violation = new Promise((resolve) =>
          document.addEventListener("securitypolicyviolation", (e) => resolve({
            directive: e.violatedDirective, blocked: e.blockedURI,
          }), { once: true }));
        const fetched = await fetch(url).then(() => "fetched", (e) => `rejected: ${e.name}`);
        return { fetched, violation: await violation };
      }, other);
      assert.match(outcome.fetched, /^rejected: TypeError/);
      assert.equal(outcome.violation.directive, "connect-src");
      assert.equal(outcome.violation.blocked, other);
      // Chromium reports the refusal on the console (once per policy, meta and header, and once
      // as the failed fetch): the only errors allowed here, those naming this URL and the policy.
      const refusal = (p) => p.startsWith("console error: ") && p.includes(other) &&
        /violates the (following|document's) Content Security Policy/.test(p);
      assert.ok(app.problems.some(refusal), `the refusal is reported: ${JSON.stringify(app.problems)}`);
      assert.deepEqual(app.problems.filter((p) => !refusal(p)), []);

      // The header covers the module worker, whose policy comes from its own response.
      const policy = (await fetch(new URL("worker.js", app.base))).headers.get("content-security-policy");
      assert.ok(policy, "worker.js carries a Content-Security-Policy header");
      for (const directive of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self'",
        "worker-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) {
        assert.ok(policy.split("; ").includes(directive), `${directive} in ${policy}`);
      }
      const meta = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
      assert.equal(`${meta}; frame-ancestors 'none'`, policy, "the page's meta says the same as the header");
    } finally {
      await app.close();
    }
  });

test("installable: the manifest, its icons, the service worker, and the start page offline",
  { timeout: 5 * 60_000 }, async () => {
    const app = await openApp({ webgpu: false });
    const { page } = app;
    try {
      await waitForServiceWorker(page);
      // The manifest as the browser finds it, through <link rel=manifest>.
      const manifestUrl = await page.evaluate(() => document.querySelector('link[rel="manifest"]').href);
      const response = await fetch(manifestUrl);
      assert.equal(response.headers.get("content-type"), "application/manifest+json");
      const manifest = await response.json();
      assert.equal(manifest.name, "tagtrain");
      assert.ok(manifest.short_name, "a short name");
      assert.ok(manifest.start_url, "a start URL");
      assert.ok(["standalone", "fullscreen", "minimal-ui"].includes(manifest.display), manifest.display);
      assert.ok(manifest.icons.some((i) => /maskable/.test(i.purpose ?? "")), "a maskable icon");
      for (const size of [192, 512]) {
        const icon = manifest.icons.find((i) => i.sizes.split(" ").includes(`${size}x${size}`));
        assert.ok(icon, `an icon of ${size} px`);
        const bytes = Buffer.from(await (await fetch(new URL(icon.src, manifestUrl))).arrayBuffer());
        assert.deepEqual(pngSize(bytes), [size, size], icon.src);
        // And the page can show it.
        const shown = await page.evaluate(async (src) => {
          const img = new Image();
          img.src = src;
          await img.decode();
          return [img.naturalWidth, img.naturalHeight];
        }, new URL(icon.src, manifestUrl).href);
        assert.deepEqual(shown, [size, size]);
      }

      // The start page comes from the service worker with the server gone.
      const startUrl = new URL(manifest.start_url, manifestUrl).href;
      app.stopServer();
      await app.context.setOffline(true);
      const start = await page.evaluate(async (url) => {
        const r = await fetch(url);
        return { status: r.status, text: await r.text() };
      }, startUrl);
      assert.equal(start.status, 200);
      assert.match(start.text, /<title>tagtrain/);
      assert.equal(start.text, readFileSync(join(ROOT, "www", "index.html"), "utf8"));
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });

test("a new build waits behind the running one until the person reloads into it",
  { timeout: 5 * 60_000 }, async () => {
    // A copy of www/ to change; the real one is left alone.
    const root = mkdtempSync(join(tmpdir(), "tagtrain-www-"));
    cpSync(join(ROOT, "www"), root, { recursive: true });
    const app = await openApp({ webgpu: false, root });
    const { page } = app;
    try {
      await waitForServiceWorker(page);
      const precache = join(root, "precache.js");
      const old = /version: "([0-9a-f]{16})"/.exec(readFileSync(precache, "utf8"))[1];
      assert.deepEqual(await page.evaluate(() => caches.keys()), [`tagtrain-${old}`]);

      // The same files under another version, as a new build would give.
      const next = "0123456789abcdef";
      writeFileSync(precache, readFileSync(precache, "utf8").replace(old, next));
      await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
      await page.waitForSelector("#update-notice:not([hidden])", { timeout: 120_000 });
      assert.match(await page.textContent("#update-notice"), /A new version of tagtrain is ready/);

      await Promise.all([page.waitForEvent("load"), page.click("#update-reload")]);
      await backendOf(page);
      await page.waitForFunction((name) => caches.keys().then((keys) => keys.join() === name), `tagtrain-${next}`);
      assert.ok(await page.isHidden("#update-notice"));
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
