// 2. Train, "Find a learning rate": the learning-rate range test (src/train/lr_find.rs). A
// short run at rates rising from tiny to huge, one batch each, on the network and data the
// form describes; the curve of its smoothed loss is drawn as it comes, and the suggested rate
// (a tenth of the rate where the loss was lowest) fills the learning-rate field.
import { Progress, Request } from "../protocol.js";
import { onStateChange, state, update } from "../state.js";
import { $, clearError, showError } from "../ui.js";
import { trainingOptions, updateMemoryPlan } from "./options.js";

/** @typedef {import("../protocol.js").LrPoint} LrPoint */
/** @typedef {import("../protocol.js").LrFindReport} LrFindReport */

/** @param {import("../client.js").WorkerClient} client */
export function initLrFinder(client) {
  $("#lr-find").addEventListener("click", () => findLearningRate(client));
  const refresh = () => {
    const { datasetLoaded, training, evaluating, chosenLabels } = state;
    // The range test runs ResNetV2 from scratch; a pretrained start is not offered it (yet).
    const pretrained = $("#opt-start").value === "pretrained";
    $("#lr-find").disabled = !datasetLoaded || training || evaluating || chosenLabels.length === 0 || pretrained;
  };
  onStateChange(refresh);
  $("#opt-start").addEventListener("change", refresh);
}

async function findLearningRate(client) {
  clearError();
  const status = $("#lr-find-status");
  /** @type {LrPoint[]} */
  const points = [];
  let total = Infinity; // batches the test runs at most, from its progress
  $("#lr-find-area").hidden = false;
  status.dataset.state = "running"; // read by the browser tests
  status.textContent = "Decoding images and building the network…";
  drawCurve(points, null);
  // Stop (shared with training) writes to the training status; the run's text comes back after.
  const trainStatus = $("#train-status").textContent;
  update({ training: true });
  try {
    /** @type {LrFindReport} */
    const report = await client.request(Request.LR_FIND, { options: trainingOptions() }, {
      onProgress: (event) => {
        if (event.kind === Progress.DECODING) {
          status.textContent = `Decoding images: ${event.done} of ${event.total}…`;
        } else if (event.kind === Progress.LR_POINT) {
          points.push(event.point);
          total = event.total;
          drawCurve(points, null);
          status.textContent = `Trying learning rate ${event.point.learningRate.toExponential(1)} ` +
            `(batch ${event.step} of at most ${event.total}): loss ${event.point.smoothed.toFixed(4)}`;
        }
      },
    });
    // Every rate tried, or the loss blew up: the curve has its minimum. Stopped before that,
    // the lowest loss so far is no more than the last rate tried, and no rate is suggested.
    const complete = report.divergedAt != null || report.points.length >= total;
    drawCurve(report.points, complete ? report : null);
    if (!complete) {
      Object.assign(status.dataset, { state: "stopped", points: String(report.points.length) });
      status.textContent = `Stopped after ${report.points.length} rates (up to ` +
        `${report.points.at(-1)?.learningRate.toExponential(1) ?? "none"}), before the loss fell and rose ` +
        "again: too few to suggest a rate. The learning rate is unchanged.";
    } else {
      const suggested = Number(report.suggested.toPrecision(2));
      $("#opt-learning-rate").value = String(suggested);
      updateMemoryPlan();
      Object.assign(status.dataset, { state: "done", suggested: String(suggested), points: String(report.points.length) });
      const knee = report.kneeRate != null
        ? `where the loss's fall levelled off (${report.kneeRate.toExponential(1)}), or a tenth of `
        : "a tenth of ";
      status.textContent = `Suggested learning rate ${suggested} (filled in): ${knee}` +
        `${report.minLossRate.toExponential(1)}, where the loss was lowest, whichever is lower. ` +
        (report.divergedAt != null
          ? `The loss blew up at ${report.divergedAt.toExponential(1)}.`
          : "The loss did not blow up in the range tried.");
    }
  } catch (e) {
    status.dataset.state = "failed";
    status.textContent = "The learning-rate test failed.";
    showError("Cannot test learning rates", e);
  }
  $("#train-status").textContent = trainStatus;
  update({ training: false });
}

/** Smoothed loss against the rate (log scale), the suggestion marked once known. */
function drawCurve(/** @type {LrPoint[]} */ points, /** @type {LrFindReport | null} */ report) {
  const canvas = $("#lr-chart");
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  const pad = 36;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(pad, 8, w - pad - 8, h - pad - 8);
  ctx.fillStyle = "#555";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText("learning rate (log scale)", w / 2 - 50, h - 6);
  ctx.fillText("loss", 4, 20);
  canvas.dataset.points = String(points.length);
  if (points.length < 2) return;
  const xs = points.map((p) => Math.log10(p.learningRate));
  const ys = points.map((p) => p.smoothed);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const px = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - pad - 8);
  const py = (y) => 8 + (1 - (y - y0) / (y1 - y0 || 1)) * (h - pad - 16);
  ctx.fillText(points[0].learningRate.toExponential(0), pad, h - pad + 14);
  ctx.fillText(points.at(-1).learningRate.toExponential(0), w - 44, h - pad + 14);
  ctx.strokeStyle = "#3366cc";
  ctx.lineWidth = 2;
  ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(px(x), py(ys[i])) : ctx.moveTo(px(x), py(ys[i]))));
  ctx.stroke();
  if (report) {
    const x = px(Math.log10(report.suggested));
    ctx.strokeStyle = "#d33";
    ctx.beginPath();
    ctx.moveTo(x, 8);
    ctx.lineTo(x, h - pad);
    ctx.stroke();
    ctx.fillStyle = "#d33";
    ctx.fillText("suggested", Math.min(x + 4, w - 60), 20);
  }
}
