// Shared set-up for the browser end-to-end tests: a static server on 127.0.0.1, Debian's
// Chromium driven by playwright-core, and a watch on everything that must not happen (console
// errors, uncaught page errors, requests leaving 127.0.0.1).
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateRawSync, deflateSync, inflateRawSync } from "node:zlib";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/static-server.mjs";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES = join(ROOT, "tests", "fixtures");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Starts the server and a browser. `webgpu: false` leaves out `--enable-unsafe-webgpu`, so the
 * page has no WebGPU adapter (the CPU-fallback path). `path` opens another page of www/ (e.g.
 * `example/`); `camera: true` gives the page Chromium's fake camera; `audio: "PATH.wav"` gives it
 * a fake microphone that plays that WAV file (16-bit PCM) over and over. `root` serves another
 * folder than www/ (a changed copy of it). `bypassCSP: true` lifts the Content-Security-Policy
 * for tests that use the page as a host for code the app never runs (blob: workers and URLs).
 * `stopServer()` stops the server for real (the offline tests), as `close()` does too.
 */
export async function openApp({ webgpu = true, query = "", path = "", camera = false, audio = null,
  root = join(ROOT, "www"), bypassCSP = false } = {}) {
  const server = await serve(root, 0);
  let serving = true;
  const stopServer = () => {
    if (!serving) return;
    serving = false;
    server.close();
    server.closeAllConnections();
  };
  const base = `http://127.0.0.1:${server.address().port}/`;
  const profile = await mkdtemp(join(tmpdir(), "tagtrain-chromium-"));
  const downloads = await mkdtemp(join(tmpdir(), "tagtrain-downloads-"));
  const args = [
    "--headless", "--no-sandbox", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--user-data-dir=${profile}`, "--remote-debugging-pipe", "--no-startup-window",
  ];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  // Extra switches for runs by hand, e.g. `--js-flags=--perf-basic-prof` to profile the page with perf.
  if (process.env.TAGTRAIN_CHROMIUM_ARGS) args.push(...process.env.TAGTRAIN_CHROMIUM_ARGS.split(" ").filter(Boolean));
  // Chromium's own test camera (a moving pattern), granted without a prompt.
  if (camera || audio) args.push("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream");
  // The fake microphone plays this file instead of Chromium's beeps.
  if (audio) args.push(`--use-file-for-fake-audio-capture=${audio}`);
  // Without it, launching waits for a pipe that never opens: say so at once.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/test.sh installs Debian's chromium (or set CHROMIUM)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, ignoreDefaultArgs: true, args });
  const context = await browser.newContext({ acceptDownloads: true, bypassCSP });
  const problems = [];
  context.on("request", (r) => {
    const url = new URL(r.url());
    if (!["blob:", "data:"].includes(url.protocol) && url.hostname !== "127.0.0.1") {
      problems.push(`request to another host: ${r.url()}`);
    }
  });
  /** A page of this browser profile, watched like the first. */
  const watchedPage = async () => {
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("crash", () => problems.push("page crashed"));
    return page;
  };
  const page = await watchedPage();
  await page.goto(base + path + query);
  return {
    page,
    context,
    base,
    server,
    stopServer,
    downloads,
    problems,
    /** Opens the app again in a new page of the same profile (same storage), as after a crash. */
    async newPage(at = path + query) {
      const next = await watchedPage();
      await next.goto(base + at);
      return next;
    },
    async close() {
      await browser.close();
      stopServer();
      await rm(profile, { recursive: true, force: true });
      await rm(downloads, { recursive: true, force: true });
    },
  };
}

/** Waits until the page has picked its backend; returns `"webgpu"` or `"cpu"`. */
export async function backendOf(page) {
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  return page.getAttribute("#backend", "data-kind");
}

/** Per-label probabilities shown in the prediction panel, in screen order. */
export async function shownPredictions(page) {
  await page.waitForSelector("#predictions[data-state=done]", { timeout: 120_000 });
  return page.$$eval("#predictions li", (items) =>
    items.map((li) => ({ label: li.dataset.label, probability: Number(li.dataset.probability) })));
}

/** Clicks *Try the sample* and waits for its summary. */
export async function loadSample(page) {
  await page.click("#try-sample");
  await page.waitForSelector("#summary:not([hidden])");
}

/** Trains one short run (1 epoch, batch 8 unless told) and waits until it is done. */
export async function trainQuickly(page, { epochs = 1, batchSize = 8 } = {}) {
  await page.fill("#opt-epochs", String(epochs));
  await page.fill("#opt-batch-size", String(batchSize));
  await page.click("#train");
  await page.waitForSelector("#train-status[data-state=done]", { timeout: 10 * 60_000 });
}

/** An 8-bit RGB PNG of `width × height` pixels from `rgb` (`width × height × 3` bytes). */
export function pngOf(width, height, rgb) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  // Each row starts with its filter type (0, none).
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) rgb.copy(rows, y * (1 + width * 3) + 1, y * width * 3, (y + 1) * width * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The entries of a zip (stored or deflated) as `{ name: Buffer }`, read from its central directory. */
export function unzip(zip) {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error("not a zip: no end of central directory");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = {};
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString();
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + compressed);
    files[name] = method === 8 ? inflateRawSync(data) : Buffer.from(data);
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

/** A zip of `{ name: Buffer | string }`: stored, or deflated with `{ deflate: true }`. */
export function zipOf(files, { deflate = false } = {}) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const raw = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const data = deflate ? deflateRawSync(raw, { level: 9 }) : raw;
    const method = deflate ? 8 : 0;
    const nameBytes = Buffer.from(name);
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
