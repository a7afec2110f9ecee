// 3. Model, the evaluation views: what the model learned and where it fails, on the images it
// was measured on (the Review). Per-label precision–recall and ROC curves with the threshold in
// force, the label's false positives and negatives, the most wrong images, one image's detail
// with its heat map, and the report. Every number comes from the worker: the page draws the
// points it is given and looks up the one in force.
import { Request } from "../protocol.js";
import { onStateChange, state } from "../state.js";
import {
  $, clearError, curvePointAt, download, el, fileName, fmt, reviewSource, showError, thumbnailCanvas,
} from "../ui.js";
import { createHeatViewer } from "./saliency.js";

/** @typedef {import("../protocol.js").Review} Review */
/** @typedef {import("../protocol.js").LabelErrors} LabelErrors */
/** @typedef {import("../protocol.js").ReviewImage} ReviewImage */
/** @typedef {import("../protocol.js").ImageDetail} ImageDetail */

/** Images per error list, and in the most-wrong list. */
const ERRORS_LIMIT = 24;
const MOST_WRONG_LIMIT = 24;

/**
 * @param {import("../client.js").WorkerClient} client
 * @returns {{ openImage: (index: number) => Promise<void> }}  Shows a dataset image's detail.
 */
export function initReviewPanel(client) {
  const heat = createHeatViewer($("#detail-heat"), client);
  /** The review the views show, and the serial whose most-wrong list is shown. */
  let shown = null;
  let mostWrongSerial = -1;
  let errorsAsked = 0;
  let mostWrongAsked = 0;
  let detailAsked = 0;

  const selectedLabel = () => $("#review-label").value;

  /** Asks for the selected label's false positives and negatives at the thresholds in force. */
  async function loadErrors() {
    const review = state.review;
    if (!review) return;
    const label = selectedLabel();
    const mine = ++errorsAsked;
    $("#errors").dataset.state = "loading"; // read by the browser tests
    try {
      /** @type {LabelErrors} */
      const errors = await client.request(Request.ERRORS, { label, limit: ERRORS_LIMIT });
      if (mine !== errorsAsked) return;
      showErrors(errors, review);
    } catch (e) {
      if (mine !== errorsAsked) return;
      $("#errors").dataset.state = "failed";
      showError(`Cannot list the mistakes on ${label}`, e);
    }
  }

  async function loadMostWrong() {
    const mine = ++mostWrongAsked;
    const list = $("#most-wrong");
    list.dataset.state = "loading";
    try {
      /** @type {ReviewImage[]} */
      const images = await client.request(Request.MOST_WRONG, { limit: MOST_WRONG_LIMIT });
      if (mine !== mostWrongAsked) return;
      list.replaceChildren(...images.map((image) =>
        reviewItem(image, `loss ${image.loss.toFixed(3)}`, openImage)));
      list.dataset.state = "done";
      list.dataset.count = String(images.length);
    } catch (e) {
      if (mine !== mostWrongAsked) return;
      list.dataset.state = "failed";
      showError("Cannot list the most wrong images", e);
    }
  }

  function showErrors(/** @type {LabelErrors} */ errors, /** @type {Review} */ review) {
    const area = $("#errors");
    const fill = (list, heading, images, count, name) => {
      list.replaceChildren(...images.map((image) =>
        reviewItem(image, `p = ${fmt(image.probability)}`, openImage)));
      list.dataset.count = String(count); // every one of them; the list stops at the limit
      list.dataset.shown = String(images.length);
      heading.textContent = `${name}: ${count}` + (images.length < count ? ` (the ${images.length} most confident shown)` : "");
    };
    fill($("#errors-fp"), $("#errors-fp-heading"), errors.falsePositives, errors.falsePositiveCount, "False positives");
    fill($("#errors-fn"), $("#errors-fn-heading"), errors.falseNegatives, errors.falseNegativeCount, "False negatives");
    $("#errors-caption").textContent = `${errors.label} at the threshold in force (${errors.threshold.toFixed(3)}), ` +
      `on ${reviewSource(review)}. False positives: predicted without the label, highest probability first. ` +
      "False negatives: the label missed, lowest probability first.";
    Object.assign(area.dataset, { state: "done", label: errors.label, threshold: String(errors.threshold) });
  }

  /** The selected label's curves, with the point of the threshold its slider sets now. */
  function drawCurves() {
    const review = state.review;
    if (!review) return;
    const j = review.labels.indexOf(selectedLabel());
    const curves = review.curves[j];
    if (!curves) return;
    // The slider's value while it moves; the review's threshold once the worker has it.
    const threshold = state.thresholds[j] ?? review.thresholds[j];
    // The worker's own point (`current`, when the review carries it) once it has the threshold; a lookup on the curves while the
    // slider is ahead of it.
    const current = curves.current && Math.abs(curves.current.threshold - threshold) < 1e-6 ? curves.current : null;
    const pr = current ?? curvePointAt(curves.pr, threshold);
    const roc = current ? { fpr: current.fpr, tpr: current.recall } : curvePointAt(curves.roc, threshold) ?? curves.roc[0] ?? null;
    drawCurve($("#curve-pr"), curves.pr.map((p) => [p.recall, p.precision]), pr && [pr.recall, pr.precision],
      "recall", "precision");
    drawCurve($("#curve-roc"), curves.roc.map((p) => [p.fpr, p.tpr]), roc && [roc.fpr, roc.tpr],
      "false positive rate", "true positive rate");
    // Read by the browser tests: the point drawn, as the worker gave it.
    Object.assign($("#curve-pr").dataset, {
      label: curves.label, threshold: String(threshold), points: String(curves.pr.length),
      precision: pr ? String(pr.precision) : "", recall: pr ? String(pr.recall) : "",
    });
    Object.assign($("#curve-roc").dataset, {
      label: curves.label, points: String(curves.roc.length),
      fpr: roc ? String(roc.fpr) : "", tpr: roc ? String(roc.tpr) : "",
    });
    const at = pr ? ` · at threshold ${threshold.toFixed(3)}: precision ${fmt(pr.precision)}, recall ${fmt(pr.recall)}` : "";
    $("#curve-stats").textContent = `${curves.label}: AP ${fmt(curves.ap)} · ROC AUC ${fmt(curves.rocAuc)}${at}`;
    Object.assign($("#curve-stats").dataset, { ap: String(curves.ap ?? ""), rocAuc: String(curves.rocAuc ?? "") });
  }

  /** Shows one image of the dataset: every label's probability against its truth, and its heat map. */
  async function openImage(/** @type {number} */ index) {
    if (!state.review) return;
    clearError();
    const mine = ++detailAsked;
    const area = $("#image-detail");
    area.dataset.state = "loading";
    try {
      /** @type {ImageDetail} */
      const detail = await client.request(Request.IMAGE_DETAIL, { index });
      if (mine !== detailAsked) return;
      const side = { train: "a training image", valid: "a validation image" }[detail.split] ?? "an image of the dataset";
      $("#detail-title").textContent = `${detail.name} (${side})`;
      renderDetail(detail);
      Object.assign(area.dataset, { state: "done", index: String(detail.index), name: detail.name });
      area.hidden = false;
      area.scrollIntoView({ block: "nearest" });
      // The heat map of the label looked at, else of the first label the model gets wrong here.
      const wrong = detail.labels.find((l) => l.truth !== l.positive);
      const label = selectedLabel() || wrong?.label || detail.labels[0]?.label;
      await heat.show({ index }, detail.labels.map((l) => l.label), label);
    } catch (e) {
      if (mine !== detailAsked) return;
      area.dataset.state = "failed";
      showError("Cannot show that image", e);
    }
  }

  async function downloadReport() {
    clearError();
    const status = $("#report-status");
    status.dataset.state = "making";
    try {
      // The report names the dataset itself.
      const title = state.model.model;
      const bytes = await client.request(Request.REPORT, { title });
      download(bytes, "tagtrain-report.html", "text/html");
      status.dataset.state = "done";
      status.textContent = `Saved tagtrain-report.html (${(bytes.byteLength / 1024).toFixed(0)} KiB): one file, ` +
        "readable offline, with every number shown here.";
    } catch (e) {
      status.dataset.state = "failed";
      showError("Cannot make the report", e);
    }
  }

  $("#review-label").addEventListener("change", () => {
    drawCurves();
    loadErrors();
  });
  // The point moves with the slider at once; the lists follow the worker's new review.
  $("#threshold-table").addEventListener("input", drawCurves);
  $("#report-download").addEventListener("click", downloadReport);
  $("#detail-close").addEventListener("click", () => {
    $("#image-detail").hidden = true;
  });

  onStateChange(({ review, reviewSerial, model, training }) => {
    $("#report-download").disabled = !review || training;
    $("#review-none").hidden = !model || !!review;
    if (review === shown) return;
    shown = review;
    $("#review").hidden = !review;
    if (!review) {
      $("#image-detail").hidden = true;
      return;
    }
    $("#review").dataset.source = review.source; // read by the browser tests
    $("#review").dataset.images = String(review.images);
    $("#review-caption").textContent = `Measured on ${reviewSource(review)}, at the thresholds in force ` +
      "(move them in the table above: every view follows).";
    const keep = selectedLabel();
    $("#review-label").replaceChildren(...review.labels.map((name) => el("option", { value: name }, name)));
    if (review.labels.includes(keep)) $("#review-label").value = keep;
    drawCurves();
    loadErrors();
    if (reviewSerial !== mostWrongSerial) {
      // Losses do not depend on thresholds: asked again only for another model or other images.
      mostWrongSerial = reviewSerial;
      $("#most-wrong-caption").textContent = `The images of ${reviewSource(review)} with the highest loss ` +
        "(mean binary cross-entropy over the labels), highest first.";
      loadMostWrong();
      $("#image-detail").hidden = true;
    }
  });

  return { openImage };
}

/** A thumbnail of the review with a note (probability or loss); a click opens its detail. */
function reviewItem(/** @type {ReviewImage} */ image, note, openImage) {
  const button = el("button", { type: "button", class: "thumb-item", title: image.name },
    thumbnailCanvas(image.thumbnail),
    el("span", { class: "thumb-name" }, fileName(image.name)),
    el("span", { class: "thumb-labels" }, image.labels.length ? image.labels.join(", ") : "no label"),
    el("span", { class: "thumb-note" }, note));
  button.addEventListener("click", () => openImage(image.index));
  return el("li", {
    "data-index": String(image.index), "data-name": image.name, "data-labels": JSON.stringify(image.labels),
    "data-probability": String(image.probability ?? ""), "data-loss": String(image.loss),
  }, button);
}

/** Every label's probability against the image's truth; the rows the model gets wrong stand out. */
function renderDetail(/** @type {ImageDetail} */ detail) {
  const head = el("thead", {}, el("tr", {}, ...["Label", "Truth", "Probability", "Threshold", "Predicted"]
    .map((title) => el("th", {}, title))));
  const yes = (b) => (b ? "yes" : "no");
  const body = el("tbody", {}, ...detail.labels.map((l) =>
    el("tr", {
      "data-label": l.label, "data-truth": String(l.truth), "data-positive": String(l.positive),
      "data-probability": String(l.probability), class: l.truth === l.positive ? "" : "wrong",
    }, el("td", {}, l.label), el("td", {}, yes(l.truth)), el("td", {}, fmt(l.probability)),
    el("td", {}, l.threshold.toFixed(3)), el("td", {}, yes(l.positive)))));
  $("#detail-table").replaceChildren(head, body);
}

/**
 * Draws a curve from the worker's points (x, y in 0..1) in a unit box, with the point in force.
 * @param {HTMLCanvasElement} canvas
 * @param {[number, number][]} points
 * @param {[number, number] | null} current
 */
function drawCurve(canvas, points, current, xName, yName) {
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  const pad = 34;
  const x = (v) => pad + (w - pad - 10) * v;
  const y = (v) => 10 + (h - pad - 10) * (1 - v);
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(x(0), y(1), x(1) - x(0), y(0) - y(1));
  ctx.fillStyle = "#666";
  ctx.font = "11px sans-serif";
  ctx.fillText("0", pad - 12, h - pad + 12);
  ctx.fillText("1", x(1) - 4, h - pad + 12);
  ctx.fillText("1", pad - 12, y(1) + 8);
  ctx.fillText(xName, pad + 4, h - 6);
  ctx.save();
  ctx.translate(12, h - pad - 4);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(yName, 0, 0);
  ctx.restore();
  ctx.strokeStyle = "#3366cc";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach(([px, py], i) => (i ? ctx.lineTo(x(px), y(py)) : ctx.moveTo(x(px), y(py))));
  ctx.stroke();
  ctx.lineWidth = 1;
  if (current) {
    ctx.fillStyle = "#dc3912";
    ctx.beginPath();
    ctx.arc(x(current[0]), y(current[1]), 5, 0, 2 * Math.PI);
    ctx.fill();
  }
}
