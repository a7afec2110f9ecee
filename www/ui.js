// Small helpers shared by the panels: element lookup and creation, the error area, number
// formatting and the metrics renderers used by both training and evaluation.

import { state } from "./state.js";

/** @typedef {import("./protocol.js").Metrics} Metrics */

/** What the loaded dataset's rows are, for "… clips/s" or "… images/s". */
export const itemsName = () => (state.datasetKind === "sounds" ? "clips" : "images");

/** A number Rust kept as f32 (1.4 arrives as 1.399999976…), as its seven digits give it back. */
export const f32 = (/** @type {number} */ x) => Number(x.toPrecision(7));

/** The first element matching `selector`. */
export const $ = (selector) => document.querySelector(selector);

/** A new element with attributes and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** A bar whose width is `share` (0..1) of its track. */
export function bar(share) {
  const node = el("span", { class: "bar" });
  node.style.width = `${(100 * share).toFixed(1)}%`;
  return node;
}

// ---------------------------------------------------------------------------------------------
// The error area

export function showError(title, error) {
  $("#error-title").textContent = title;
  $("#error-message").textContent = error instanceof Error ? error.message : String(error);
  $("#error").hidden = false;
}

export function clearError() {
  $("#error").hidden = true;
}

export function initErrorArea() {
  $("#error-close").addEventListener("click", clearError);
}

// ---------------------------------------------------------------------------------------------
// Files

/** Calls `onFile(file)` with the file chosen in `input`, then clears it so the same file can be chosen again. */
export function onFileChosen(input, onFile) {
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = "";
    if (file) onFile(file);
  });
}

/**
 * Calls `onFile(file)` with the first file dropped on `zone`, or `onFolder(files)` with every
 * file of a dropped folder (`{ path, file }`, `path` inside it, its name first) when given.
 */
export function dropTarget(zone, onFile, onFolder = null) {
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const entry = e.dataTransfer.items?.[0]?.webkitGetAsEntry?.();
    if (onFolder && entry?.isDirectory) {
      folderFiles(/** @type {FileSystemDirectoryEntry} */ (entry)).then(onFolder, (error) => showError("Cannot read the folder", error));
      return;
    }
    const file = e.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

/** Every file under a dropped folder, with its path (the folder's name first). */
async function folderFiles(/** @type {FileSystemDirectoryEntry} */ folder) {
  /** @type {{ path: string, file: File }[]} */
  const files = [];
  const walk = async (/** @type {FileSystemDirectoryEntry} */ dir) => {
    const reader = dir.createReader();
    // readEntries gives the entries a batch at a time, until an empty batch.
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const entry of batch) {
        if (entry.isDirectory) await walk(/** @type {FileSystemDirectoryEntry} */ (entry));
        else {
          const file = await new Promise((resolve, reject) => /** @type {FileSystemFileEntry} */ (entry).file(resolve, reject));
          files.push({ path: entry.fullPath.replace(/^\//, ""), file });
        }
      }
    }
  };
  await walk(folder);
  return files;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** A metric with three decimals; "–" when it is undefined (e.g. AP of a label without positives). */
export const fmt = (x) => (x == null ? "–" : x.toFixed(3));

/** A duration for people: "42 s", "3 min 5 s", "1 h 20 min". */
export function formatSeconds(s) {
  if (!Number.isFinite(s)) return "–";
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Every metric over the labels, on one line. */
export function overallMetricsText(/** @type {Metrics} */ m) {
  return `mAP ${fmt(m.map)} · macro ROC-AUC ${fmt(m.macroRocAuc)} · micro-F1 ${fmt(m.microF1)} · ` +
    `macro-F1 ${fmt(m.macroF1)} · Hamming loss ${fmt(m.hammingLoss)} · subset accuracy ${fmt(m.subsetAccuracy)}`;
}

/**
 * The columns of a per-label metrics table, with each label's cell.
 * @type {[string, (m: import("./protocol.js").LabelMetrics) => string][]}
 */
const LABEL_COLUMNS = [
  ["Label", (m) => m.name],
  ["Precision", (m) => fmt(m.precision)],
  ["Recall", (m) => fmt(m.recall)],
  ["F1", (m) => fmt(m.f1)],
  ["AP", (m) => fmt(m.ap)],
  ["ROC-AUC", (m) => fmt(m.rocAuc)],
  ["Support", (m) => String(m.support)],
  ["Threshold", (m) => m.threshold.toFixed(2)],
];

/** Fills `table` with one row of metrics per label (training's validation and evaluation). */
export function renderLabelMetrics(table, /** @type {Metrics["labels"]} */ labels) {
  const head = el("thead", {}, el("tr", {}, ...LABEL_COLUMNS.map(([title]) => el("th", {}, title))));
  // data-label and data-f1 are read by the browser tests.
  const body = el("tbody", {}, ...labels.map((m) =>
    el("tr", {
      "data-label": m.name, "data-f1": String(m.f1), "data-precision": String(m.precision),
      "data-recall": String(m.recall), "data-support": String(m.support), "data-threshold": String(m.threshold),
    },
      ...LABEL_COLUMNS.map(([, cell]) => el("td", {}, cell(m))))));
  table.replaceChildren(head, body);
}

// ---------------------------------------------------------------------------------------------
// Images, curves and downloads

/** @typedef {import("./protocol.js").Thumbnail} Thumbnail */
/** @typedef {import("./protocol.js").Review} Review */

/**
 * Draws the worker's pixels onto `canvas` (resized to them).
 * @param {HTMLCanvasElement} canvas
 * @param {{ width: number, height: number, rgba: Uint8ClampedArray<ArrayBuffer> | Uint8Array<ArrayBuffer> }} pixels
 */
export function drawPixels(canvas, pixels) {
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  // ImageData takes a Uint8ClampedArray; a view of the same bytes, whatever typed array arrived.
  const rgba = pixels.rgba instanceof Uint8ClampedArray
    ? pixels.rgba
    : new Uint8ClampedArray(pixels.rgba.buffer, pixels.rgba.byteOffset, pixels.rgba.byteLength);
  canvas.getContext("2d").putImageData(new ImageData(rgba, pixels.width, pixels.height), 0, 0);
  return canvas;
}

/** A thumbnail canvas (shown larger by CSS, pixels kept sharp). */
export const thumbnailCanvas = (/** @type {Thumbnail} */ pixels) =>
  drawPixels(el("canvas", { class: "thumb" }), pixels);

/**
 * The point of a curve (highest threshold first) in force at threshold `t`: a label is predicted
 * when its probability reaches the threshold, so it is the last point whose threshold is still
 * at least `t`. A lookup in the worker's points; null when `t` is above them all.
 * @template {{ threshold: number }} P
 * @param {P[]} points
 * @returns {P | null}
 */
export function curvePointAt(points, t) {
  let found = null;
  for (const p of points) {
    // A curve's first point may stand for "above every probability" (no threshold given).
    if ((p.threshold ?? Infinity) >= t) found = p;
    else break;
  }
  return found;
}

/** Which images a review measured, for captions. */
export function reviewSource(/** @type {Review} */ review) {
  return review.source === "evaluation"
    ? `all ${review.images} images of the loaded dataset (Evaluate)`
    : `the ${review.images} validation images of the run that made the model`;
}

/** An image's file name without its folders (the whole path is its tooltip). */
export const fileName = (/** @type {string} */ path) => path.slice(path.lastIndexOf("/") + 1);

/** Saves `bytes` as a file called `name`, as a download. */
export function download(bytes, name, type) {
  const link = el("a", { href: URL.createObjectURL(new Blob([bytes], { type })), download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
