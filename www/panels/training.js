// 2. Train, the run: Train and Stop, progress, the loss chart, the epoch table and the
// validation metrics.
import { Progress, Request } from "../protocol.js";
import { newRun, onStateChange, state, update } from "../state.js";
import { $, clearError, el, fmt, formatSeconds, overallMetricsText, renderLabelMetrics, showError } from "../ui.js";
import { trainingOptions } from "./options.js";

/** @typedef {import("../protocol.js").TrainResult} TrainResult */
/** @typedef {import("../protocol.js").EpochReport} EpochReport */
/** @typedef {import("../protocol.js").ProgressEvent} ProgressEvent */
/** @typedef {import("../state.js").Run} Run */

/**
 * @param {import("../client.js").WorkerClient} client
 * @param {{ onModel: (result: TrainResult) => void }} hooks  `onModel` gets a run's model.
 */
export function initTrainingPanel(client, { onModel }) {
  $("#train-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.datasetLoaded && !state.training && !state.evaluating) train(client, onModel);
  });
  $("#stop").addEventListener("click", () => {
    $("#stop").disabled = true;
    $("#train-status").textContent = "Stopping after this step…";
    client.request(Request.STOP).catch((e) => showError("Cannot stop", e));
  });
  // Training and evaluation both decode the dataset, one at a time.
  onStateChange(({ datasetLoaded, training, evaluating }) => {
    $("#train").disabled = !datasetLoaded || training || evaluating;
    $("#stop").disabled = !training;
  });
  drawChart();
}

/** Sets the run's phase, also on `#train-status[data-state]` (which the browser tests wait for). */
function setPhase(/** @type {Run["phase"]} */ phase) {
  state.run.phase = phase;
  $("#train-status").dataset.state = phase;
}

async function train(client, onModel) {
  clearError();
  update({ training: true, run: newRun() });
  setPhase("preparing");
  const status = $("#train-status");
  status.textContent = "Decoding images and building the network…";
  drawChart();
  $("#epoch-history tbody").replaceChildren();
  $("#progress").value = 0;
  try {
    /** @type {TrainResult} */
    const result = await client.request(Request.TRAIN, { options: trainingOptions(), initModel: state.initModel },
      { onProgress: showProgress });
    if (result.model) {
      onModel(result);
      const steps = state.run.trainLosses.length;
      setPhase(result.failure ? "diverged" : result.stopped ? "stopped" : "done");
      status.textContent = result.failure
        ? `Training stopped: ${result.failure}. The model keeps the best epoch before that.`
        : result.stopped
        ? `Stopped at step ${steps}; the model holds the weights at that point.`
        : `Done: ${steps} steps at ${state.run.imagesPerSec} images/s.` +
          (state.run.lastMap != null ? ` Validation mAP ${state.run.lastMap.toFixed(3)}.` : "");
    } else {
      setPhase("stopped");
      status.textContent = "Stopped before the first step; the previous model is kept.";
    }
  } catch (e) {
    setPhase("failed");
    status.textContent = "Training failed; the previous model (if any) is kept.";
    showError("Training failed", e);
  }
  update({ training: false });
}

function showProgress(/** @type {ProgressEvent} */ event) {
  const { run } = state;
  const status = $("#train-status");
  if (event.kind === Progress.DECODING) {
    $("#progress").value = event.done / Math.max(1, event.total);
    status.textContent = `Decoding images: ${event.done} of ${event.total}…`;
    return;
  }
  if (event.kind === Progress.STARTED) {
    const i = event.info;
    run.totalSteps = i.totalSteps;
    setPhase("running");
    // Read by the benches (benches/browser_ingest.mjs) and the fine-tuning test.
    status.dataset.wasmMemory = String(i.wasmMemoryBytes);
    status.dataset.init = i.init;
    status.dataset.decodeMs = String(Math.round(performance.now() - run.startedAt));
    const init = { new: "new weights", continue: "continuing from the model file" }[i.init] ??
      "backbone from the model file, new head";
    status.textContent = `Training ${i.model} (${i.parameters.toLocaleString()} parameters, ${init}) on ` +
      `${i.trainImages} images, validating on ${i.validImages}, ${i.backend === "webgpu" ? "WebGPU" : "CPU"}; ` +
      `memory ${(i.wasmMemoryBytes / 2 ** 20).toFixed(0)} MiB…`;
    return;
  }
  run.trainLosses.push(event.loss);
  run.imagesPerSec = event.imagesPerSec.toFixed(1);
  status.dataset.imagesPerSec = run.imagesPerSec; // read by benches/browser.mjs
  status.dataset.wasmMemory = String(event.wasmMemoryBytes); // read by the memory test
  $("#progress").value = event.step / event.totalSteps;
  if (run.phase === "running") {
    status.textContent = `Epoch ${event.epoch}, step ${event.step}/${event.totalSteps} · loss ${event.loss.toFixed(4)} · ` +
      `${run.imagesPerSec} images/s · ${event.done ? "finishing…" : `ETA ${formatSeconds(event.etaSeconds)}`}`;
  }
  if (event.validation) {
    const v = event.validation;
    if (v.validLoss != null) run.validLosses.push({ step: event.step, loss: v.validLoss });
    showValidation(v);
    run.lastMap = v.map;
  }
  drawChart();
}

function showValidation(/** @type {EpochReport} */ v) {
  // The data-* attributes are read by the browser tests.
  $("#epoch-history tbody").append(el("tr", {
    "data-epoch": String(v.epoch),
    "data-train-loss": String(v.trainLoss),
    "data-valid-loss": String(v.validLoss ?? ""),
    "data-map": String(v.map),
  }, el("td", {}, String(v.epoch)), el("td", {}, v.trainLoss.toFixed(4)), el("td", {}, fmt(v.validLoss)),
  el("td", {}, fmt(v.map)), el("td", {}, fmt(v.microF1)), el("td", {}, fmt(v.macroF1))));
  $("#metrics-summary").textContent =
    `After epoch ${v.epoch}${v.best ? " (best so far, kept)" : ""}: train loss ${v.trainLoss.toFixed(4)}` +
    (v.validLoss != null ? `, validation loss ${v.validLoss.toFixed(4)}` : ", no validation images") +
    ` · ${overallMetricsText(v)}`;
  renderLabelMetrics($("#metrics-table"), v.labels);
  $("#metrics").hidden = false;
}

function drawChart() {
  const { run } = state;
  const canvas = $("#loss-chart");
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  const pad = 32;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(pad, 8, w - pad - 8, h - pad - 8);
  const values = [...run.trainLosses, ...run.validLosses.map((p) => p.loss)];
  if (values.length === 0) return;
  const top = Math.max(...values) * 1.05;
  const x = (step) => pad + ((w - pad - 8) * step) / Math.max(1, run.totalSteps);
  const y = (loss) => 8 + (h - pad - 8) * (1 - loss / top);
  ctx.fillStyle = "#666";
  ctx.font = "11px sans-serif";
  ctx.fillText(top.toFixed(2), 2, 16);
  ctx.fillText("0", 2, h - pad);
  ctx.fillText("step", w - 36, h - 10);
  ctx.strokeStyle = "#3366cc";
  ctx.beginPath();
  run.trainLosses.forEach((loss, i) => (i ? ctx.lineTo(x(i + 1), y(loss)) : ctx.moveTo(x(i + 1), y(loss))));
  ctx.stroke();
  ctx.fillStyle = "#dc3912";
  for (const p of run.validLosses) {
    ctx.beginPath();
    ctx.arc(x(p.step), y(p.loss), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.fillStyle = "#3366cc";
  ctx.fillText("training loss", pad + 8, h - 10);
  ctx.fillStyle = "#dc3912";
  ctx.fillText("● validation loss", pad + 100, h - 10);
}
