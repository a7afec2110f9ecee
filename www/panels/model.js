// 3. Model: what the current model is, its per-label thresholds, download, loading a model file,
// and evaluating the model on the loaded dataset.
import { Progress, Request } from "../protocol.js";
import { state, update, onStateChange } from "../state.js";
import { $, clearError, el, onFileChosen, overallMetricsText, renderLabelMetrics, showError } from "../ui.js";

/** @typedef {import("../protocol.js").ModelMetadata} ModelMetadata */
/** @typedef {import("../protocol.js").CurvePoint} CurvePoint */
/** @typedef {import("../protocol.js").Evaluation} Evaluation */

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
  onStateChange(({ datasetLoaded, training, evaluating, model }) => {
    // The model cannot change under a training run or an evaluation (which holds it).
    $("#model-file").disabled = training || evaluating;
    for (const slider of $("#threshold-table").querySelectorAll("input")) slider.disabled = evaluating;
    $("#evaluate").disabled = !datasetLoaded || !model || training || evaluating;
    $("#export-web").disabled = !model;
  });
}

/**
 * Makes a model file the page's current model: download link, thresholds, description.
 * @param {Uint8Array} bytes
 * @param {ModelMetadata} metadata
 * @param {string} origin  Where it came from, for people ("trained here", "loaded from x").
 * @param {{ points: CurvePoint[] }[] | null} [curves]  Validation precision–recall curves.
 */
export function showModel(bytes, metadata, origin, curves = null) {
  setDownload(bytes);
  const t = metadata.training;
  $("#model-info").textContent =
    `${metadata.model}, ${metadata.labels.length} labels, ${metadata.imageSize} px input (${origin})` +
    (t ? `: ${t.epochsCompleted} epochs on ${t.trainImages} images` +
      (t.finalMap != null ? `, validation mAP ${t.finalMap.toFixed(3)}` : "") : "") + ".";
  // An evaluation of the previous model would now mislead.
  $("#evaluation").hidden = true;
  $("#evaluate-status").textContent = "";
  update({ model: metadata, thresholds: [...metadata.thresholds] });
  renderThresholds(metadata, curves);
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

/** Precision and recall at threshold `t` from a curve (highest threshold first). */
function pointAt(/** @type {CurvePoint[]} */ points, t) {
  let found = null;
  for (const p of points) if (p.threshold >= t) found = p;
  return found ?? { precision: 0, recall: 0 };
}

function renderThresholds(/** @type {ModelMetadata} */ metadata, curves) {
  const rows = metadata.labels.map((label, j) => {
    const points = curves?.[j]?.points ?? [];
    const slider = el("input", { type: "range", min: "0", max: "1", step: "0.005", "aria-label": `Threshold of ${label}` });
    slider.value = String(state.thresholds[j]);
    const value = el("td", { class: "threshold-value" });
    const precision = el("td");
    const recall = el("td");
    const show = () => {
      const t = state.thresholds[j];
      value.textContent = t.toFixed(3);
      const p = points.length ? pointAt(points, t) : null;
      precision.textContent = p ? p.precision.toFixed(3) : "–";
      recall.textContent = p ? p.recall.toFixed(3) : "–";
    };
    slider.addEventListener("input", () => {
      state.thresholds[j] = Number(slider.value);
      show();
    });
    show();
    return el("tr", { "data-label": label }, el("td", {}, label), el("td", {}, slider), value, precision, recall);
  });
  $("#threshold-table tbody").replaceChildren(...rows);
  $("#thresholds").hidden = false;
}

async function applyThresholds(client, onThresholdsChanged) {
  try {
    const { model, metadata } = await client.request(Request.SET_THRESHOLDS, { thresholds: state.thresholds });
    setDownload(model);
    update({ model: metadata });
    onThresholdsChanged(model);
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
    const link = el("a", { href: URL.createObjectURL(new Blob([zip], { type: "application/zip" })), download: name });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
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
    showEvaluation(evaluation);
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

function showEvaluation(/** @type {Evaluation} */ e) {
  const area = $("#evaluation");
  area.dataset.map = String(e.map); // read by the browser tests
  area.dataset.images = String(e.images);
  $("#evaluation-summary").textContent =
    `${state.model.model} on ${state.datasetName}: ${e.images} images at the model's thresholds ` +
    `(${e.imagesPerSec.toFixed(1)} images/s) · ${overallMetricsText(e)}`;
  renderLabelMetrics($("#evaluation-table"), e.labels);
  area.hidden = false;
}
