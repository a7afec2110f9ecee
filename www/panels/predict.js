// 4. Predict: choose or drop an image (or a sound clip, for a model of sounds), see each label's
// probability, and where the model looked for a label (its heat map; a clip's spectrogram).
import { Request } from "../protocol.js";
import { state, update, onStateChange } from "../state.js";
import { $, bar, clearError, dropTarget, el, onFileChosen, showError } from "../ui.js";
import { createHeatViewer } from "./saliency.js";

/** @typedef {import("../protocol.js").Requests["predict"][1]} PredictResult */

/** The object URL of the previewed image, revoked when another one is shown. */
let previewUrl = null;

/** @param {import("../client.js").WorkerClient} client */
export function initPredictPanel(client) {
  const predictFile = (file) => predict(client, file);
  onFileChosen($("#predict-file"), predictFile);
  dropTarget($("#predict-drop"), (file) => {
    if (!state.model) showError("No model yet", "Train a model or load a model file first.");
    else predictFile(file);
  });
  onStateChange(({ model }) => {
    $("#predict-file").disabled = !model;
  });
  // The heat map is computed when asked for (opened), for the image predicted last (and again
  // after each prediction: the model may have changed), of its most probable label unless
  // another was chosen.
  const heat = createHeatViewer($("#predict-heat"), client);
  const showHeat = () => {
    const file = state.lastPredicted;
    const top = $("#predictions li")?.dataset.label;
    if (!$("#predict-heat-area").open || !file || !state.model) return;
    heat.show({ file }, state.model.labels, top);
  };
  $("#predict-heat-area").addEventListener("toggle", showHeat);
  // A prediction that finished after another file was chosen is not the one shown: no heat map.
  $("#predictions").addEventListener("predicted", (e) => {
    if (/** @type {CustomEvent<File>} */ (e).detail === state.lastPredicted) showHeat();
  });
  // Switching test-time augmentation predicts the shown image again, the other way.
  $("#predict-tta").addEventListener("change", () => {
    if (state.lastPredicted && state.model) predictFile(state.lastPredicted);
  });
  return {
    /** Predicts the last image again (after the model's thresholds changed). */
    predictAgain() {
      if (state.lastPredicted) predictFile(state.lastPredicted);
    },
  };
}

/**
 * For a clip longer than the sound model's window, the clip window by window: one row per
 * window, a cell per label (its probability; green over its threshold). Hidden otherwise.
 * @param {import("../client.js").WorkerClient} client
 * @param {File | null} file
 */
async function showTimeline(client, file) {
  const figure = $("#predict-timeline");
  const table = $("#predict-windows");
  figure.hidden = true;
  figure.dataset.state = "none"; // read by the browser tests: none, loading, done or failed
  if (!file) return;
  figure.dataset.state = "loading";
  /** @type {import("../protocol.js").WindowPrediction[]} */
  let windows;
  try {
    ({ windows } = await client.request(Request.PREDICT_WINDOWS, { file }));
  } catch (e) {
    if (file !== state.lastPredicted) return;
    figure.dataset.state = "failed";
    showError(`Cannot score ${file.name} over time`, e);
    return;
  }
  // Another file was chosen meanwhile: its own timeline follows.
  if (file !== state.lastPredicted) return;
  if (windows.length < 2) {
    figure.dataset.state = "done";
    return;
  }
  const labels = windows[0].labels.map((p) => p.label);
  table.replaceChildren(
    el("thead", {}, el("tr", {}, el("th", {}, "Seconds"), ...labels.map((l) => el("th", {}, l)))),
    el("tbody", {}, ...windows.map((w) => el("tr", { "data-start": String(w.startSeconds) },
      el("td", {}, `${w.startSeconds.toFixed(1)}–${w.endSeconds.toFixed(1)}`),
      ...w.labels.map((p) => {
        const cell = el("td", { class: p.positive ? "positive" : "", "data-label": p.label,
          "data-probability": String(p.probability) }, `${(100 * p.probability).toFixed(0)}%`);
        // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
        cell.style.background = `rgba(51, 102, 204, ${(0.6 * p.probability).toFixed(3)})`;
        return cell;
      })))));
  figure.hidden = false;
  figure.dataset.state = "done";
}

async function predict(client, /** @type {File} */ file) {
  update({ lastPredicted: file });
  clearError();
  $("#predict-timeline").hidden = true;
  $("#predict-timeline").dataset.state = "waiting"; // until the prediction is shown
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  // A model of sound clips is given a clip, which plays; any other model an image, which shows.
  // (Rust refuses a file of the other kind in words.) The heat map shows a clip's spectrogram.
  const sound = Boolean(state.model?.input.sound);
  const preview = $("#predict-preview");
  const player = /** @type {HTMLAudioElement} */ ($("#predict-audio"));
  preview.hidden = sound;
  player.hidden = !sound;
  if (sound) {
    preview.removeAttribute("src");
    player.src = previewUrl;
  } else {
    player.removeAttribute("src");
    preview.src = previewUrl;
    preview.alt = file.name;
  }
  // data-state and the items' data-* attributes are read by the browser tests.
  const list = $("#predictions");
  list.dataset.state = "predicting";
  try {
    /** @type {PredictResult} */
    const { predictions } = await client.request(Request.PREDICT, { file, tta: $("#predict-tta").checked });
    // Another file was chosen meanwhile: its prediction is the one to show.
    if (file !== state.lastPredicted) return;
    list.replaceChildren(...predictions.map((p) =>
      el("li", {
        "data-label": p.label,
        "data-probability": String(p.probability),
        class: p.positive ? "positive" : "",
      }, el("span", { class: "name" }, p.label), el("span", { class: "track" }, bar(p.probability)),
      el("span", { class: "value" }, `${(100 * p.probability).toFixed(1)}%`))));
    list.dataset.state = "done";
    list.dataset.image = file.name;

    $("#predict-heat-area").hidden = false;
    list.dispatchEvent(new CustomEvent("predicted", { detail: file }));
  } catch (e) {
    if (file !== state.lastPredicted) return;
    list.dataset.state = "failed";
    showError(`Cannot predict ${file.name}`, e);
    return;
  }
  await showTimeline(client, sound ? file : null);
}
