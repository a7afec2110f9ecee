// 2. Train, the run: Train and Stop, progress, the loss chart, the epoch table and the
// validation metrics.
import { Progress, Request } from "../protocol.js";
import { newRun, onStateChange, state, update } from "../state.js";
import {
  $, clearError, el, fmt, formatSeconds, itemsName, overallMetricsText, renderLabelMetrics, reviewSource, showError,
} from "../ui.js";
import { trainingOptions } from "./options.js";
import { beginRun, discardRun, savedRun, storageInfo } from "../store.js";

/** @typedef {import("../protocol.js").TrainResult} TrainResult */
/** @typedef {import("../protocol.js").EpochReport} EpochReport */
/** @typedef {import("../protocol.js").ProgressEvent} ProgressEvent */
/** @typedef {import("../state.js").Run} Run */

/** Room to leave in the browser's storage besides the dataset copy: the run files and models. */
const STORAGE_MARGIN = 64 * 2 ** 20;

/**
 * @param {import("../client.js").WorkerClient} client
 * @param {{ onModel: (result: TrainResult) => void, loadDataset: (file: File) => Promise<boolean> }} hooks
 *   `onModel` gets a run's model; `loadDataset` loads a zip as the dataset panel does (resuming).
 * @returns {{ offerResume: () => Promise<void> }}  Shows "Resume training of …" when a saved run
 *   is in the browser's storage.
 */
export function initTrainingPanel(client, { onModel, loadDataset }) {
  $("#train-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.datasetLoaded && !state.training && !state.evaluating && state.chosenLabels.length) train(client, onModel);
  });
  $("#resume").addEventListener("click", () => resume(client, onModel, loadDataset));
  $("#discard-run").addEventListener("click", async () => {
    await discardRun().catch((e) => showError("Cannot discard the saved run", e));
    $("#resume-run").hidden = true;
  });
  $("#stop").addEventListener("click", () => {
    $("#stop").disabled = true;
    $("#train-status").textContent = "Stopping after this step…";
    client.request(Request.STOP).catch((e) => showError("Cannot stop", e));
  });
  // Training and evaluation both decode the dataset, one at a time.
  onStateChange(({ datasetLoaded, training, evaluating, chosenLabels }) => {
    const noLabels = datasetLoaded && chosenLabels.length === 0;
    $("#train").disabled = !datasetLoaded || training || evaluating || noLabels;
    $("#stop").disabled = !training;
    // Why Train is refused, in words (the other reasons are plain from the page).
    $("#train-refusal").hidden = !noLabels;
  });
  onStateChange(showReviewMetrics);
  drawChart();
  return { offerResume: () => offerResume(client) };
}

/** The saved run shown in the resume notice, if any. */
let saved = null;

async function offerResume(client) {
  const notice = $("#resume-run");
  try {
    saved = await savedRun();
  } catch {
    saved = null; // no private file system: nothing was saved either
  }
  notice.hidden = !saved;
  if (!saved) return;
  const { record } = saved;
  $("#resume").disabled = false;
  try {
    /** @type {import("../protocol.js").SavedRunInfo} */
    const info = await client.request(Request.RUN_INFO, { state: saved.state });
    notice.dataset.epoch = String(info.epochsCompleted); // read by the browser tests
    $("#resume").textContent = `Resume training of ${record.name} (epoch ${info.epochsCompleted} of ${info.epochs})`;
    $("#resume-text").textContent = `Saved in this browser after epoch ${info.epochsCompleted}: ${info.model}, ` +
      `${info.labels.length} labels, ${info.images} images` +
      (info.bestMap != null ? `, best validation mAP so far ${info.bestMap.toFixed(3)}` : "") + ". " +
      (saved.dataset ? "The dataset is kept with it." : `Choose ${record.datasetName} above first: it was not kept.`);
  } catch (e) {
    $("#resume").disabled = true;
    $("#resume").textContent = `Resume training of ${record.name}`;
    $("#resume-text").textContent = `This saved run cannot be resumed: ${e.message}`;
  }
}

/**
 * Starts a saved run record for a new run, so that it can be resumed after a reload. The dataset
 * zip is kept with it unless the browser's storage is short, in which case the person decides.
 * Resolves to whether the run is autosaved.
 */
async function prepareAutosave(/** @type {File} */ file) {
  const name = file.name.replace(/\.zip$/i, "");
  try {
    const { usage, quota } = await storageInfo();
    let keepZip = true;
    if (quota && quota - usage < file.size + STORAGE_MARGIN) {
      const mb = (n) => `${(n / 2 ** 20).toFixed(0)} MB`;
      keepZip = confirm(`tagtrain saves this run in your browser after every epoch, so that a reload or ` +
        `a crash does not lose it. Keeping a copy of ${file.name} (${mb(file.size)}) too lets you resume ` +
        `without choosing the zip again, but this page may store only ${mb(Math.max(0, quota - usage))} more.\n\n` +
        `OK: keep the copy anyway. Cancel: do not keep it (resuming will ask for the zip).`);
    }
    try {
      await beginRun({ name, datasetFile: file, keepZip });
    } catch (e) {
      if (!keepZip) throw e;
      await beginRun({ name, datasetFile: file, keepZip: false });
    }
    $("#autosave-status").textContent = "";
    return true;
  } catch (e) {
    $("#autosave-status").textContent = `This run is not saved in the browser (${e.message}); ` +
      "a reload will lose it.";
    return false;
  }
}

/** Resumes the saved run: its dataset (kept, or chosen again), then training from its epoch. */
async function resume(client, onModel, loadDataset) {
  if (!saved || state.training) return;
  clearError();
  const { record } = saved;
  let file = null;
  if (saved.dataset) {
    // Read now: the stored copy goes when the run ends, and the page keeps using the dataset.
    file = new File([await saved.dataset.arrayBuffer()], record.datasetName, { type: "application/zip" });
  } else if (state.datasetFile?.name === record.datasetName) {
    file = state.datasetFile;
  }
  if (!file) {
    showError("Choose the dataset to resume", `${record.datasetName} was not kept in the browser. ` +
      "Choose it in 1. Dataset, then resume.");
    return;
  }
  if (file !== state.datasetFile && !(await loadDataset(file))) return;
  $("#resume-run").hidden = true;
  const failure = await run(client, onModel, Request.RESUME, { state: saved.state });
  if (failure) {
    // Only the run file's header is read to describe it, so a file damaged past its header (cut
    // short, say) fails here: say so where the saved run is offered, with Discard beside it.
    $("#resume-text").textContent = `This saved run cannot be resumed: ${failure instanceof Error ? failure.message : String(failure)}`;
    $("#resume-run").hidden = false;
  }
}

/** Sets the run's phase, also on `#train-status[data-state]` (which the browser tests wait for). */
function setPhase(/** @type {Run["phase"]} */ phase) {
  state.run.phase = phase;
  $("#train-status").dataset.state = phase;
}

async function train(client, onModel) {
  clearError();
  $("#resume-run").hidden = true;
  const autosave = await prepareAutosave(state.datasetFile);
  await run(client, onModel, Request.TRAIN, { options: trainingOptions(), initModel: state.initModel, autosave });
}

/**
 * Runs a training request (`train` or `resume`) to its end, showing its progress. Resolves to
 * what made it fail, or `null`.
 * @returns {Promise<unknown>}
 */
async function run(client, onModel, type, args) {
  let failure = null;
  update({ training: true, run: newRun() });
  setPhase("preparing");
  const status = $("#train-status");
  status.textContent = "Decoding images and building the network…";
  delete status.dataset.autosavedEpoch;
  drawChart();
  $("#epoch-history tbody").replaceChildren();
  $("#progress").value = 0;
  $("#train-labels").hidden = true;
  $("#train-budget").hidden = true;
  $("#train-duplicates").hidden = true;
  try {
    /** @type {TrainResult} */
    const result = await client.request(type, args, { onProgress: showProgress });
    if (result.model) {
      onModel(result);
      const steps = state.run.trainLosses.length;
      setPhase(result.failure ? "diverged" : result.stopped ? "stopped" : "done");
      status.textContent = result.failure
        ? `Training stopped: ${result.failure}. The model keeps the best epoch before that.`
        : result.stopped
        ? `Stopped at step ${steps}; the model holds the weights at that point.`
        : `Done: ${steps} steps at ${state.run.imagesPerSec} ${itemsName()}/s.` +
          (state.run.lastMap != null ? ` Validation mAP ${state.run.lastMap.toFixed(3)}.` : "");
    } else {
      setPhase("stopped");
      status.textContent = "Stopped before the first step; the previous model is kept.";
    }
    // The run is over (its model is in the library): nothing to resume.
    await discardRun().catch(() => {});
    $("#autosave-status").textContent = "";
  } catch (e) {
    // The saved run stays: after a crash or a lost GPU it can be resumed from its last epoch.
    setPhase("failed");
    status.textContent = "Training failed; the previous model (if any) is kept.";
    showError("Training failed", e);
    failure = e;
  }
  update({ training: false });
  return failure;
}

function showProgress(/** @type {ProgressEvent} */ event) {
  const { run } = state;
  const status = $("#train-status");
  if (event.kind === Progress.DECODING) {
    $("#progress").value = event.done / Math.max(1, event.total);
    status.textContent = `Decoding images: ${event.done} of ${event.total}…`;
    return;
  }
  if (event.kind === Progress.AUTOSAVED) {
    // Read by the browser tests and benches/browser_autosave.mjs.
    Object.assign(status.dataset, {
      autosavedEpoch: String(event.epoch), autosaveMs: String(Math.round(event.ms)), autosaveBytes: String(event.bytes),
    });
    $("#autosave-status").textContent = `Saved in this browser after epoch ${event.epoch} ` +
      `(${(event.bytes / 2 ** 20).toFixed(1)} MB, ${Math.round(event.ms)} ms): a reload or a crash resumes from there.`;
    return;
  }
  if (event.kind === Progress.AUTOSAVE_FAILED) {
    $("#autosave-status").textContent = `Epoch ${event.epoch} could not be saved in the browser: ${event.message}`;
    return;
  }
  if (event.kind === Progress.STARTED) {
    const i = event.info;
    run.totalSteps = i.totalSteps;
    setPhase("running");
    // A resumed run: its curves so far.
    run.trainLosses = [...i.history.stepLosses];
    for (const v of i.history.epochs) {
      if (v.validLoss != null) run.validLosses.push({ step: v.epoch * i.stepsPerEpoch, loss: v.validLoss });
      showValidation(v);
      run.lastMap = v.map;
    }
    status.dataset.resumedEpochs = String(i.history.epochs.length);
    drawChart();
    // Read by the benches (benches/browser_ingest.mjs) and the fine-tuning test.
    status.dataset.wasmMemory = String(i.wasmMemoryBytes);
    status.dataset.init = i.init;
    status.dataset.decodeMs = String(Math.round(performance.now() - run.startedAt));
    const init = { new: "new weights", continue: "continuing from the model file" }[i.init] ??
      "backbone from the model file, new head";
    const resumed = i.history.epochs.length ? `, resumed after epoch ${i.history.epochs.length}` : "";
    status.textContent = `Training ${i.model} (${i.parameters.toLocaleString()} parameters, ${init}${resumed}) on ` +
      `${i.trainImages} images, validating on ${i.validImages}, ${i.backend === "webgpu" ? "WebGPU" : "CPU"}; ` +
      `memory ${(i.wasmMemoryBytes / 2 ** 20).toFixed(0)} MiB…`;
    showSplitNotes(i);
    // The dataset is now split into training and validation images (shown when the run ends:
    // the gallery cannot read the dataset while a run does).
    state.datasetSplit = true;
    return;
  }
  // What is left is a training step (a learning-rate test's points go to its own panel).
  if (event.kind !== Progress.STEP) return;
  if (event.epochsChosen != null) {
    run.totalSteps = event.totalSteps;
    const budget = $("#train-budget");
    budget.hidden = false;
    budget.dataset.epochs = String(event.epochsChosen); // read by the browser tests
    budget.textContent = `Timed the first steps: ${event.epochsChosen} ` +
      `${event.epochsChosen === 1 ? "epoch fits" : "epochs fit"} the time budget.`;
  }
  run.trainLosses.push(event.loss);
  run.imagesPerSec = event.imagesPerSec.toFixed(1);
  status.dataset.imagesPerSec = run.imagesPerSec; // read by benches/browser.mjs
  status.dataset.wasmMemory = String(event.wasmMemoryBytes); // read by the memory test
  $("#progress").value = event.step / event.totalSteps;
  if (run.phase === "running") {
    status.textContent = `Epoch ${event.epoch}, step ${event.step}/${event.totalSteps} · loss ${event.loss.toFixed(4)} · ` +
      `${run.imagesPerSec} ${itemsName()}/s · ${event.done ? "finishing…" : `ETA ${formatSeconds(event.etaSeconds)}`}`;
  }
  if (event.validation) {
    const v = event.validation;
    if (v.validLoss != null) run.validLosses.push({ step: event.step, loss: v.validLoss });
    showValidation(v);
    run.lastMap = v.map;
  }
  drawChart();
}

/** What the run trains on and how it split the images: its labels, groups and duplicates. */
function showSplitNotes(/** @type {import("../protocol.js").StartedEvent["info"]} */ i) {
  const labels = $("#train-labels");
  labels.dataset.labels = JSON.stringify(i.labels ?? []); // read by the browser tests
  labels.textContent = `Labels trained: ${(i.labels ?? []).join(", ")}.` +
    (i.groups != null ? ` ${i.groups} groups of the group column are kept whole by the split.` : "");
  labels.hidden = !i.labels;
  const batch = $("#train-batch");
  batch.hidden = !i.batchNotice;
  batch.textContent = i.batchNotice ?? "";
  const duplicates = $("#train-duplicates");
  const sets = i.duplicates ?? [];
  duplicates.hidden = sets.length === 0;
  duplicates.dataset.sets = String(sets.length);
  $("#train-duplicates summary").textContent = `${sets.length} ${sets.length === 1 ? "set" : "sets"} of images ` +
    "are pixel-identical at the training size; each set is kept on one side of the split.";
  $("#train-duplicates ul").replaceChildren(...sets.map((set) => el("li", {}, set.join(" = "))));
}

/**
 * Once the run's model is measured, the per-label table shows the Review (at the thresholds in
 * force, the same numbers as every other view), not the last epoch's report at 0.5.
 */
let shownReview = null;
function showReviewMetrics(/** @type {import("../state.js").PageState} */ { review }) {
  if (!review || review === shownReview) return;
  shownReview = review;
  const m = review.metrics;
  $("#metrics-summary").textContent = `The model on ${reviewSource(review)}, at the thresholds in force · ` +
    overallMetricsText(m);
  $("#metrics-caption").textContent = "Per label, at the thresholds in force (move them in 3. Model):";
  $("#metrics-table").dataset.source = review.source; // read by the browser tests
  renderLabelMetrics($("#metrics-table"), m.labels);
  $("#metrics").hidden = false;
}

function showValidation(/** @type {EpochReport} */ v) {
  // The data-* attributes are read by the browser tests.
  $("#epoch-history tbody").append(el("tr", {
    "data-epoch": String(v.epoch),
    "data-train-loss": String(v.trainLoss),
    "data-valid-loss": String(v.validLoss ?? ""),
    "data-map": String(v.map),
    "data-kept": String(v.best),
  }, el("td", {}, String(v.epoch)), el("td", {}, v.trainLoss.toFixed(4)), el("td", {}, fmt(v.validLoss)),
  el("td", {}, fmt(v.map)), el("td", {}, fmt(v.microF1)), el("td", {}, fmt(v.macroF1))));
  $("#metrics-summary").textContent =
    `After epoch ${v.epoch}${v.best ? " (kept)" : ""}: train loss ${v.trainLoss.toFixed(4)}` +
    (v.validLoss != null ? `, validation loss ${v.validLoss.toFixed(4)}` : ", no validation images") +
    ` · ${overallMetricsText(v)} (F1, Hamming loss and subset accuracy at 0.5 until the run ends)`;
  $("#metrics-caption").textContent = "Per label on the validation images, at a threshold of 0.5 until the " +
    "run ends (its thresholds are tuned then):";
  $("#metrics-table").dataset.source = "epoch";
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
