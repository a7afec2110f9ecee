// The page: UI and message passing only. Data, model, metrics and prediction live in the Rust
// module, which the worker (worker.js) owns.

const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------------------------------------
// Worker requests: every request is a promise that settles with the worker's answer.

let worker = null;
let nextId = 1;
const pending = new Map();
let backendReady = null;

function startWorker() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => {
    if (data.type === "progress") {
      onProgress(data.event);
      return;
    }
    const request = pending.get(data.id);
    if (!request) return;
    pending.delete(data.id);
    if (data.type === "error") request.reject(new Error(data.message));
    else request.resolve(data.value);
  };
  // A crash inside the worker (which Rust code must never cause) rejects everything in flight
  // and starts a fresh worker, so the page stays usable.
  worker.onerror = (event) => {
    event.preventDefault();
    const message = event.message || "the worker stopped unexpectedly";
    for (const request of pending.values()) request.reject(new Error(message));
    pending.clear();
    worker.terminate();
    startWorker();
    backendReady = initBackend();
  };
}

function request(type, args = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...args });
  });
}

// ---------------------------------------------------------------------------------------------
// Errors and status

function showError(title, error) {
  $("#error-title").textContent = title;
  $("#error-message").textContent = error instanceof Error ? error.message : String(error);
  $("#error").hidden = false;
}

function clearError() {
  $("#error").hidden = true;
}

$("#error-close").addEventListener("click", clearError);

// ---------------------------------------------------------------------------------------------
// Backend

function initBackend() {
  // `?backend=cpu` forces the CPU backend (useful to compare speeds).
  const prefer = new URLSearchParams(location.search).get("backend") ?? "auto";
  return request("init", { prefer }).then((info) => {
    const badge = $("#backend");
    badge.textContent = info.kind === "webgpu" ? "WebGPU" : "CPU";
    badge.dataset.kind = info.kind;
    $("#adapter").textContent = info.adapter ? `(${info.adapter})` : "";
    $("#backend-notice").hidden = !info.notice;
    $("#backend-notice").textContent = info.notice ?? "";
    // Time from navigation start to a usable backend (read by benches/browser.mjs).
    document.body.dataset.readyMs = String(Math.round(performance.now()));
    document.body.dataset.ready = "true";
    return info;
  });
}

// ---------------------------------------------------------------------------------------------
// Dataset

let datasetLoaded = false;
let training = false;

function updateButtons() {
  $("#train").disabled = !datasetLoaded || training;
  $("#stop").disabled = !training;
  $("#try-sample").disabled = training;
  $("#dataset-file").disabled = training;
  $("#model-file").disabled = training;
}

async function loadDataset(file) {
  clearError();
  $("#dataset-status").textContent = `Reading ${file.name}…`;
  try {
    await backendReady;
    const summary = await request("load-dataset", { file });
    datasetLoaded = true;
    renderSummary(file.name, summary);
    $("#dataset-status").textContent = "";
  } catch (e) {
    $("#dataset-status").textContent = datasetLoaded
      ? "That zip could not be used; the previously loaded dataset is still selected."
      : "";
    showError(`Cannot use ${file.name}`, e);
  }
  updateButtons();
}

function renderSummary(name, s) {
  const sizes = s.minSide === s.maxSide
    ? `${s.sizes[0]?.width ?? s.minSide}×${s.sizes[0]?.height ?? s.maxSide} px`
    : `sides from ${s.minSide} to ${s.maxSide} px (resized for training)`;
  $("#summary-text").textContent =
    `${name}: ${s.images} images, ${s.labels.length} labels, ${sizes}. ` +
    `Image paths from column “${s.imageColumn}”.`;
  const warnings = $("#summary-warnings");
  warnings.replaceChildren(...s.warnings.map((w) => el("li", {}, w)));
  const max = Math.max(1, ...s.labels.map((l) => l.positives));
  $("#label-counts tbody").replaceChildren(...s.labels.map((l) => {
    const bar = el("span", { class: "bar" });
    bar.style.width = `${(100 * l.positives) / max}%`;
    return el("tr", { "data-label": l.name },
      el("td", {}, l.name), el("td", {}, String(l.positives)), el("td", {}, String(l.negatives)),
      el("td", { class: "bar-cell" }, bar));
  }));
  const perImage = s.labelsPerImage.map((count, k) => (count ? `${count} with ${k}` : null)).filter(Boolean);
  const split = s.splitColumn
    ? ` The split column puts ${s.splitColumn.train} images in training, ${s.splitColumn.valid} in validation and ${s.splitColumn.test} in test (validated on, never trained on).`
    : "";
  $("#summary-details").textContent =
    `Labels per image: ${perImage.join(", ")}.` +
    (s.grayscale ? " Every image is grayscale: the model trains on one channel." : "") + split;
  drawCooccurrence(s);
  $("#summary").hidden = false;
  $("#opt-image-size").value = s.recommended.imageSize;
  $("#opt-depth").value = String(s.recommended.depth);
  updateModelHint();
}

function drawCooccurrence(s) {
  const canvas = $("#cooccurrence");
  const ctx = canvas.getContext("2d");
  const n = s.labels.length;
  const cell = canvas.width / Math.max(1, n);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (let a = 0; a < n; a++) {
    const own = Math.max(1, s.cooccurrence[a][a]);
    for (let b = 0; b < n; b++) {
      const share = s.cooccurrence[a][b] / own;
      ctx.fillStyle = `rgba(51, 102, 204, ${share.toFixed(3)})`;
      ctx.fillRect(b * cell, a * cell, cell - (n > 40 ? 0 : 1), cell - (n > 40 ? 0 : 1));
    }
  }
  canvas.onmousemove = (e) => {
    const rect = canvas.getBoundingClientRect();
    const b = Math.floor(((e.clientX - rect.left) / rect.width) * n);
    const a = Math.floor(((e.clientY - rect.top) / rect.height) * n);
    if (a < 0 || b < 0 || a >= n || b >= n) return;
    $("#cooccurrence-hover").textContent =
      `${s.labels[a].name} and ${s.labels[b].name}: ${s.cooccurrence[a][b]} images`;
  };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function updateModelHint() {
  const size = Number($("#opt-image-size").value);
  const depth = Number($("#opt-depth").value);
  const large = [26, 50, 101].includes(depth);
  let hint = "";
  if (size > 96 && !large) hint = "Images above 96 px usually train better with a Large model.";
  if (size <= 96 && large) hint = "Images up to 96 px usually train better (and faster) with a Small model.";
  if (size > 320) hint = "Images above 320 px are slow to train in a browser; 320 px or less is recommended.";
  $("#model-hint").textContent = hint;
}

$("#opt-image-size").addEventListener("input", updateModelHint);
$("#opt-depth").addEventListener("change", updateModelHint);

$("#dataset-file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (file) loadDataset(file);
});

$("#try-sample").addEventListener("click", async () => {
  try {
    const response = await fetch("sample/sample.zip");
    if (!response.ok) throw new Error(`the sample could not be fetched (HTTP ${response.status})`);
    const blob = await response.blob();
    await loadDataset(new File([blob], "sample.zip", { type: "application/zip" }));
  } catch (e) {
    showError("Cannot load the sample", e);
  }
});

// ---------------------------------------------------------------------------------------------
// Training

const chart = { train: [], valid: [], totalSteps: 1, stepsPerEpoch: 1 };
let trainStarted = 0;

function trainingOptions() {
  return {
    depth: Number($("#opt-depth").value),
    imageSize: Number($("#opt-image-size").value),
    epochs: Number($("#opt-epochs").value),
    batchSize: Number($("#opt-batch-size").value),
    learningRate: Number($("#opt-learning-rate").value),
    resize: $("#opt-resize").value,
    validationFraction: Number($("#opt-validation").value),
    patience: Number($("#opt-patience").value),
    seed: Number($("#opt-seed").value),
    positiveWeights: $("#opt-pos-weight").checked,
    thresholdGoal: $("#opt-threshold-goal").value === "maxF1"
      ? { goal: "maxF1" }
      : { goal: $("#opt-threshold-goal").value, target: Number($("#opt-threshold-target").value) },
    augment: { crop: $("#opt-crop").checked, jitter: $("#opt-jitter").checked, flip: $("#opt-flip").checked },
  };
}

// "Continue from a model file": the file is read by the worker when training starts.
let initModel = null;

$("#init-model-file").addEventListener("change", (e) => {
  initModel = e.target.files[0] ?? null;
  e.target.value = "";
  $("#init-model-name").textContent = initModel ? `Starting from ${initModel.name}` : "";
  $("#init-model-clear").hidden = !initModel;
});

$("#init-model-clear").addEventListener("click", () => {
  initModel = null;
  $("#init-model-name").textContent = "";
  $("#init-model-clear").hidden = true;
});

$("#train-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (training || !datasetLoaded) return;
  clearError();
  training = true;
  updateButtons();
  const status = $("#train-status");
  status.dataset.state = "preparing";
  trainStarted = performance.now();
  status.textContent = "Decoding images and building the network…";
  Object.assign(chart, { train: [], valid: [], totalSteps: 1, stepsPerEpoch: 1 });
  drawChart();
  $("#epoch-history tbody").replaceChildren();
  $("#progress").value = 0;
  try {
    const result = await request("train", { options: trainingOptions(), initModel });
    if (result.model) {
      setModel(result.model, result.metadata, "trained here", result.curves);
      status.dataset.state = result.stopped ? "stopped" : "done";
      status.textContent = result.stopped
        ? `Stopped at step ${chart.train.length}; the model holds the weights at that point.`
        : `Done: ${chart.train.length} steps at ${status.dataset.imagesPerSec} images/s. ${status.dataset.last ?? ""}`;
    } else {
      status.dataset.state = "stopped";
      status.textContent = "Stopped before the first step; the previous model is kept.";
    }
  } catch (e) {
    status.dataset.state = "failed";
    status.textContent = "Training failed; the previous model (if any) is kept.";
    showError("Training failed", e);
  }
  training = false;
  updateButtons();
});

$("#stop").addEventListener("click", () => {
  $("#stop").disabled = true;
  $("#train-status").textContent = "Stopping after this step…";
  request("stop").catch((e) => showError("Cannot stop", e));
});

function onProgress(event) {
  const status = $("#train-status");
  if (event.kind === "decoding") {
    $("#progress").value = event.done / Math.max(1, event.total);
    status.textContent = `Decoding images: ${event.done} of ${event.total}…`;
    return;
  }
  if (event.kind === "started") {
    const i = event.info;
    chart.totalSteps = i.totalSteps;
    chart.stepsPerEpoch = i.stepsPerEpoch;
    status.dataset.state = "running";
    status.dataset.wasmMemory = String(i.wasmMemoryBytes);
    status.dataset.init = i.init;
    status.dataset.decodeMs = String(Math.round(performance.now() - trainStarted));
    status.textContent = `Training ${i.model} (${i.parameters.toLocaleString()} parameters, ` +
      `${i.init === "new" ? "new weights" : i.init === "continue" ? "continuing from the model file" : "backbone from the model file, new head"}) on ` +
      `${i.trainImages} images, validating on ${i.validImages}, ${i.backend === "webgpu" ? "WebGPU" : "CPU"}; ` +
      `memory ${(i.wasmMemoryBytes / 2 ** 20).toFixed(0)} MiB…`;
    return;
  }
  chart.train.push(event.loss);
  status.dataset.imagesPerSec = event.imagesPerSec.toFixed(1);
  $("#progress").value = event.step / event.totalSteps;
  const line = `Epoch ${event.epoch}, step ${event.step}/${event.totalSteps} · loss ${event.loss.toFixed(4)} · ` +
    `${event.imagesPerSec.toFixed(1)} images/s · ${event.done ? "finishing…" : `ETA ${formatSeconds(event.etaSeconds)}`}`;
  if (status.dataset.state === "running") status.textContent = line;
  if (event.validation) {
    const v = event.validation;
    if (v.validLoss != null) chart.valid.push({ step: event.step, loss: v.validLoss });
    renderMetrics(v);
    status.dataset.last = `Validation mAP ${v.map.toFixed(3)}.`;
  }
  drawChart();
}

function formatSeconds(s) {
  if (!Number.isFinite(s)) return "–";
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

const fmt = (x) => (x == null ? "–" : x.toFixed(3));

function renderMetrics(v) {
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
    ` · mAP ${fmt(v.map)} · macro ROC-AUC ${fmt(v.macroRocAuc)} · micro-F1 ${fmt(v.microF1)} · macro-F1 ${fmt(v.macroF1)}` +
    ` · Hamming loss ${fmt(v.hammingLoss)} · subset accuracy ${fmt(v.subsetAccuracy)}`;
  $("#metrics-table tbody").replaceChildren(...v.labels.map((m) =>
    el("tr", { "data-label": m.name, "data-f1": String(m.f1) },
      el("td", {}, m.name), el("td", {}, fmt(m.precision)), el("td", {}, fmt(m.recall)),
      el("td", {}, fmt(m.f1)), el("td", {}, fmt(m.ap)), el("td", {}, fmt(m.rocAuc)), el("td", {}, String(m.support)),
      el("td", {}, m.threshold.toFixed(2)))));
  $("#metrics").hidden = false;
}

function drawChart() {
  const canvas = $("#loss-chart");
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  const pad = 32;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(pad, 8, w - pad - 8, h - pad - 8);
  const values = [...chart.train, ...chart.valid.map((p) => p.loss)];
  if (values.length === 0) return;
  const top = Math.max(...values) * 1.05;
  const x = (step) => pad + ((w - pad - 8) * step) / Math.max(1, chart.totalSteps);
  const y = (loss) => 8 + (h - pad - 8) * (1 - loss / top);
  ctx.fillStyle = "#666";
  ctx.font = "11px sans-serif";
  ctx.fillText(top.toFixed(2), 2, 16);
  ctx.fillText("0", 2, h - pad);
  ctx.fillText("step", w - 36, h - 10);
  ctx.strokeStyle = "#3366cc";
  ctx.beginPath();
  chart.train.forEach((loss, i) => (i ? ctx.lineTo(x(i + 1), y(loss)) : ctx.moveTo(x(i + 1), y(loss))));
  ctx.stroke();
  ctx.fillStyle = "#dc3912";
  for (const p of chart.valid) {
    ctx.beginPath();
    ctx.arc(x(p.step), y(p.loss), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.fillStyle = "#3366cc";
  ctx.fillText("training loss", pad + 8, h - 10);
  ctx.fillStyle = "#dc3912";
  ctx.fillText("● validation loss", pad + 100, h - 10);
}

// ---------------------------------------------------------------------------------------------
// Model file

let downloadUrl = null;

function setDownload(bytes) {
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const link = $("#download");
  link.href = downloadUrl;
  link.removeAttribute("aria-disabled");
}

function setModel(bytes, metadata, origin, curves = null) {
  setDownload(bytes);
  renderThresholds(metadata, curves);
  const t = metadata.training;
  $("#model-info").textContent =
    `${metadata.model}, ${metadata.labels.length} labels, ${metadata.imageSize} px input (${origin})` +
    (t ? `: ${t.epochsCompleted} epochs on ${t.trainImages} images` +
      (t.finalMap != null ? `, validation mAP ${t.finalMap.toFixed(3)}` : "") : "") + ".";
  $("#model-info").dataset.labels = String(metadata.labels.length);
  $("#predict-file").disabled = false;
}

$("#model-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  clearError();
  try {
    await backendReady;
    const { model, metadata } = await request("load-model", { file });
    setModel(model, metadata, `loaded from ${file.name}`);
  } catch (err) {
    showError(`Cannot load ${file.name}`, err);
  }
});

// ---------------------------------------------------------------------------------------------
// Per-label thresholds

/** Precision and recall at threshold `t` from a curve (highest threshold first). */
function pointAt(points, t) {
  let found = null;
  for (const p of points) if (p.threshold >= t) found = p;
  return found ?? { precision: 0, recall: 0 };
}

let thresholdTimer = null;

function renderThresholds(metadata, curves) {
  const rows = metadata.labels.map((label, j) => {
    const points = curves?.[j]?.points ?? [];
    const slider = el("input", { type: "range", min: "0", max: "1", step: "0.005", "aria-label": `Threshold of ${label}` });
    slider.value = String(metadata.thresholds[j]);
    const value = el("td", { class: "threshold-value" });
    const precision = el("td");
    const recall = el("td");
    const show = () => {
      const t = Number(slider.value);
      value.textContent = t.toFixed(3);
      const p = points.length ? pointAt(points, t) : null;
      precision.textContent = p ? p.precision.toFixed(3) : "–";
      recall.textContent = p ? p.recall.toFixed(3) : "–";
    };
    slider.addEventListener("input", () => {
      show();
      clearTimeout(thresholdTimer);
      thresholdTimer = setTimeout(applyThresholds, 250);
    });
    show();
    return el("tr", { "data-label": label }, el("td", {}, label), el("td", {}, slider), value, precision, recall);
  });
  $("#threshold-table tbody").replaceChildren(...rows);
  $("#thresholds").hidden = false;
}

async function applyThresholds() {
  const thresholds = [...document.querySelectorAll("#threshold-table input[type=range]")].map((s) => Number(s.value));
  try {
    const { model } = await request("set-thresholds", { thresholds });
    setDownload(model);
    if (lastPredicted) predict(lastPredicted);
  } catch (e) {
    showError("Cannot set the thresholds", e);
  }
}

// ---------------------------------------------------------------------------------------------
// Prediction

let previewUrl = null;
let lastPredicted = null;

async function predict(file) {
  lastPredicted = file;
  clearError();
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  const preview = $("#predict-preview");
  preview.src = previewUrl;
  preview.alt = file.name;
  preview.hidden = false;
  const list = $("#predictions");
  list.dataset.state = "predicting";
  try {
    const { predictions } = await request("predict", { file });
    list.replaceChildren(...predictions.map((p) => {
      const bar = el("span", { class: "bar" });
      bar.style.width = `${(100 * p.probability).toFixed(1)}%`;
      return el("li", {
        "data-label": p.label,
        "data-probability": String(p.probability),
        class: p.positive ? "positive" : "",
      }, el("span", { class: "name" }, p.label), el("span", { class: "track" }, bar),
      el("span", { class: "value" }, `${(100 * p.probability).toFixed(1)}%`));
    }));
    list.dataset.state = "done";
    list.dataset.image = file.name;
  } catch (e) {
    list.dataset.state = "failed";
    showError(`Cannot predict ${file.name}`, e);
  }
}

$("#predict-file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (file) predict(file);
});

// ---------------------------------------------------------------------------------------------
// Drag and drop

function dropTarget(zone, onFile) {
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

dropTarget($("#dataset-drop"), (file) => {
  if (!training) loadDataset(file);
});
dropTarget($("#predict-drop"), (file) => {
  if ($("#predict-file").disabled) showError("No model yet", "Train a model or load a model file first.");
  else predict(file);
});

// ---------------------------------------------------------------------------------------------

startWorker();
backendReady = initBackend().catch((e) => {
  $("#backend").textContent = "unavailable";
  showError("The compute backend could not start", e);
});
updateButtons();
drawChart();
