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
  $("#predictions").addEventListener("predicted", showHeat);
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

async function predict(client, /** @type {File} */ file) {
  update({ lastPredicted: file });
  clearError();
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  // A clip plays; an image shows. (Which it is, is the model's business: Rust refuses the wrong
  // kind in words.) The heat map below shows a clip's spectrogram.
  const sound = file.type.startsWith("audio/") || /\.(wav|flac|ogg|oga|mp3)$/i.test(file.name);
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
    list.dispatchEvent(new Event("predicted"));
  } catch (e) {
    list.dataset.state = "failed";
    showError(`Cannot predict ${file.name}`, e);
  }
}
