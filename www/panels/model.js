// 3. Model: what the current model is, its per-label thresholds, download, loading a model file,
// and evaluating the model on the loaded dataset.
import { Progress, Request } from "../protocol.js";
import { setReview, state, update, onStateChange } from "../state.js";
import {
  $, clearError, curvePointAt, download, el, f32, itemsName, onFileChosen, overallMetricsText, renderLabelMetrics,
  showError,
} from "../ui.js";

/** @typedef {import("../protocol.js").ModelMetadata} ModelMetadata */
/** @typedef {import("../protocol.js").CurvePoint} CurvePoint */
/** @typedef {import("../protocol.js").Evaluation} Evaluation */

/** @typedef {import("../protocol.js").Review} Review */

/** @type {import("../client.js").WorkerClient | null} */
let modelClient = null;
/** The object URL behind the download link, revoked when the model changes. */
let downloadUrl = null;
/** Slider moves are sent to the worker once they pause. */
let thresholdTimer = null;
const THRESHOLD_DEBOUNCE_MS = 250;

/**
 * @param {import("../client.js").WorkerClient} client
 * @param {{ onThresholdsChanged: (bytes: Uint8Array) => void,
 *   onModelLoaded: (bytes: Uint8Array, metadata: ModelMetadata, fileName: string) => void }} hooks
 *   `onThresholdsChanged` runs after the worker's model took new thresholds (with its new file);
 *   `onModelLoaded` after a model file was loaded.
 */
export function initModelPanel(client, { onThresholdsChanged, onModelLoaded }) {
  modelClient = client;
  onFileChosen($("#model-file"), async (file) => {
    clearError();
    try {
      const { model, metadata } = await client.request(Request.LOAD_MODEL, { file });
      showModel(model, metadata, `loaded from ${file.name}`);
      onModelLoaded(model, metadata, file.name);
    } catch (err) {
      showError(`Cannot load ${file.name}`, err);
    }
  });
  $("#threshold-table").addEventListener("input", () => {
    clearTimeout(thresholdTimer);
    thresholdTimer = setTimeout(() => applyThresholds(client, onThresholdsChanged), THRESHOLD_DEBOUNCE_MS);
  });
  $("#evaluate").addEventListener("click", () => evaluate(client));
  $("#export-web").addEventListener("click", () => exportForWeb(client));
  let shownReview = null;
  onStateChange(({ review }) => {
    if (review === shownReview) return;
    shownReview = review;
    for (const show of rowUpdates) show();
    showEvaluation(review);
  });
  onStateChange(({ datasetLoaded, training, evaluating, model }) => {
    // The model cannot change under a training run or an evaluation (which holds it).
    $("#model-file").disabled = training || evaluating;
    for (const slider of $("#threshold-table").querySelectorAll("input")) slider.disabled = evaluating;
    $("#evaluate").disabled = !datasetLoaded || !model || training || evaluating;
    $("#export-web").disabled = !model;
  });
}

/**
 * Makes a model file the page's current model: download link, thresholds, description, and
 * its review (which images it was measured on, at its thresholds).
 * @param {Uint8Array} bytes
 * @param {ModelMetadata} metadata
 * @param {string} origin  Where it came from, for people ("trained here", "loaded from x").
 * @param {{ curves?: { points: CurvePoint[] }[] | null, review?: Review | null }} [measured]
 *   A run's validation precision–recall curves and its review; without a review the worker is
 *   asked for one (a model loaded from a file has none until Evaluate).
 */
export function showModel(bytes, metadata, origin, { curves = null, review } = {}) {
  setDownload(bytes);
  const t = metadata.training;
  const sound = metadata.input.sound;
  $("#model-info").textContent =
    `${metadata.model}, ${metadata.labels.length} labels, ${metadata.imageSize} px input` +
    (sound ? `, for sound clips (${f32(sound.clipSeconds)} s windows at ${sound.sampleRate} Hz, ` +
      `${sound.melBands} mel bands from ${f32(sound.minHz)} to ${f32(sound.maxHz)} Hz)` : "") + ` (${origin})` +
    (t ? `: ${t.epochsCompleted} epochs on ${t.trainImages} ${sound ? "clips" : "images"}` +
      (t.finalMap != null ? `, validation mAP ${t.finalMap.toFixed(3)}` : "") + dataText(metadata) : "") + ".";
  $("#model-info").dataset.labels = JSON.stringify(metadata.labels); // read by the browser tests
  $("#model-info").dataset.kind = sound ? "sounds" : "images";
  // An evaluation of the previous model would now mislead.
  lastEvaluation = null;
  $("#evaluation").hidden = true;
  $("#evaluate-status").textContent = "";
  update({ model: metadata, thresholds: [...metadata.thresholds] });
  runCurves = curves;
  renderThresholds(metadata);
  if (review !== undefined) setReview(review);
  else measureAgain();
}

/**
 * Asks the worker for the current model's review (after a model file was loaded, another
 * dataset was loaded, or a restarted worker took them again): null when it has none, and the
 * views then wait for Evaluate.
 */
export async function measureAgain() {
  const model = state.model;
  setReview(null);
  if (!modelClient || !model) return;
  try {
    const review = await modelClient.request(Request.REVIEW);
    if (state.model === model) setReview(review ?? null);
  } catch {
    // No review to show (the page says to evaluate); nothing is broken.
  }
}

function setDownload(bytes) {
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  const file = new Blob([bytes], { type: "application/octet-stream" });
  update({ modelFile: file });
  downloadUrl = URL.createObjectURL(file);
  const link = $("#download");
  link.href = downloadUrl;
  link.removeAttribute("aria-disabled");
}

// ---------------------------------------------------------------------------------------------
// Per-label thresholds

/** The last run's precision–recall curves, for a model whose review is missing. */
let runCurves = null;

/**
 * The precision–recall points of label `j`: the review's, else the run's.
 * @returns {import("../protocol.js").CurvePoint[]}
 */
function prPoints(/** @type {number} */ j) {
  return state.review?.curves[j]?.pr ?? runCurves?.[j]?.points ?? [];
}

/** Shows each row's threshold, and its precision and recall looked up on the curve. */
const rowUpdates = [];

function renderThresholds(/** @type {ModelMetadata} */ metadata) {
  rowUpdates.length = 0;
  const rows = metadata.labels.map((label, j) => {
    const slider = el("input", { type: "range", min: "0", max: "1", step: "0.005", "aria-label": `Threshold of ${label}` });
    slider.value = String(state.thresholds[j]);
    const value = el("td", { class: "threshold-value" });
    const precision = el("td");
    const recall = el("td");
    const show = () => {
      const t = state.thresholds[j];
      value.textContent = t.toFixed(3);
      const p = curvePointAt(prPoints(j), t);
      precision.textContent = p ? p.precision.toFixed(3) : "–";
      recall.textContent = p ? p.recall.toFixed(3) : "–";
    };
    slider.addEventListener("input", () => {
      state.thresholds[j] = Number(slider.value);
      show();
    });
    show();
    rowUpdates.push(show);
    return el("tr", { "data-label": label }, el("td", {}, label), el("td", {}, slider), value, precision, recall);
  });
  $("#threshold-table tbody").replaceChildren(...rows);
  $("#thresholds").hidden = false;
}

async function applyThresholds(client, onThresholdsChanged) {
  try {
    /** @type {import("../protocol.js").ModelReply} */
    const reply = await client.request(Request.SET_THRESHOLDS, { thresholds: state.thresholds });
    setDownload(reply.model);
    update({ model: reply.metadata });
    // The same model on the same images, at the new thresholds: every view follows it.
    if (reply.review !== undefined) setReview(reply.review, { thresholdsMoved: true });
    onThresholdsChanged(reply.model);
  } catch (e) {
    showError("Cannot set the thresholds", e);
  }
}

// ---------------------------------------------------------------------------------------------
// Export for the web

async function exportForWeb(client) {
  clearError();
  try {
    const zip = await client.request(Request.EXPORT_WEB);
    const name = `${state.model.model.toLowerCase()}-web.zip`;
    download(zip, name, "application/zip");
    $("#export-status").textContent = `Exported ${name}: unzip it onto any static web host and open index.html.`;
  } catch (e) {
    showError("Cannot export the model for the web", e);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

async function evaluate(client) {
  clearError();
  const status = $("#evaluate-status");
  const progress = $("#evaluate-progress");
  update({ evaluating: true });
  status.dataset.state = "evaluating"; // read by the browser tests, like every data-state
  status.textContent = "Decoding the dataset at the model's input size…";
  progress.value = 0;
  progress.hidden = false;
  $("#evaluation").hidden = true;
  try {
    /** @type {Evaluation} */
    const evaluation = await client.request(Request.EVALUATE, {}, {
      onProgress: (event) => {
        if (event.kind !== Progress.DECODING) return;
        progress.value = event.done / Math.max(1, event.total);
        status.textContent = `Decoding images: ${event.done} of ${event.total}…`;
      },
    });
    // The evaluation's numbers are the review's: the worker now measures the model on these images.
    const review = await client.request(Request.REVIEW);
    lastEvaluation = evaluation;
    setReview(review ?? null);
    status.dataset.state = "done";
    status.textContent = "";
  } catch (e) {
    status.dataset.state = "failed";
    status.textContent = "The evaluation failed.";
    showError("Cannot evaluate the model", e);
  }
  progress.hidden = true;
  update({ evaluating: false });
}

/** The last evaluation (for its speed); its metrics are the review's. */
let lastEvaluation = null;

/** The evaluation table shows the review while it is of the whole dataset (Evaluate). */
function showEvaluation(/** @type {Review | null} */ review) {
  const area = $("#evaluation");
  if (!review || review.source !== "evaluation" || !lastEvaluation) {
    area.hidden = true;
    return;
  }
  const m = review.metrics;
  area.dataset.map = String(m.map); // read by the browser tests
  area.dataset.images = String(review.images);
  $("#evaluation-summary").textContent =
    `${state.model.model} on ${state.datasetName}: ${review.images} ${itemsName()} at the thresholds in force ` +
    `(${lastEvaluation.imagesPerSec.toFixed(1)} ${itemsName()}/s) · ${overallMetricsText(m)}`;
  renderLabelMetrics($("#evaluation-table"), m.labels);
  area.hidden = false;
}

/**
 * What the last run's data says about the model's lineage: its label edits, and whether its
 * labelled images differ from those of the run it continued.
 * @param {ModelMetadata} metadata
 */
function dataText(metadata) {
  const data = metadata.training?.data;
  if (!data) return "";
  const before = metadata.lineage?.at(-1)?.data;
  return (data.labelEdits ? `, data with ${data.labelEdits} label edit${data.labelEdits > 1 ? "s" : ""}` : "") +
    (before && before.labelsDigest !== data.labelsDigest ? ", the data changed since the run it continued" : "");
}
